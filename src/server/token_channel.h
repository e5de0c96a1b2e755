// For tests and benchmarks that talk to a Server: a channel that sends
// "authorization: Bearer <token>" on every call, so that code written against the plain
// stubs (one grpc::ClientContext per call) needs no change to pass authorization. The
// token usually comes from Server::AdminToken() or Server::MintToken().
#ifndef RECORDSTORE_SERVER_TOKEN_CHANNEL_H_
#define RECORDSTORE_SERVER_TOKEN_CHANNEL_H_

#include <memory>
#include <string>
#include <utility>
#include <vector>

#include "grpcpp/grpcpp.h"
#include "grpcpp/support/client_interceptor.h"

namespace recordstore::server {

namespace token_channel_internal {

class BearerInterceptor : public grpc::experimental::Interceptor {
 public:
  explicit BearerInterceptor(const std::string& value) : value_(value) {}
  void Intercept(grpc::experimental::InterceptorBatchMethods* methods) override {
    if (methods->QueryInterceptionHookPoint(
            grpc::experimental::InterceptionHookPoints::PRE_SEND_INITIAL_METADATA)) {
      methods->GetSendInitialMetadata()->insert({"authorization", value_});
    }
    methods->Proceed();
  }

 private:
  const std::string& value_;
};

class BearerFactory : public grpc::experimental::ClientInterceptorFactoryInterface {
 public:
  explicit BearerFactory(std::string token) : value_("Bearer " + std::move(token)) {}
  grpc::experimental::Interceptor* CreateClientInterceptor(
      grpc::experimental::ClientRpcInfo*) override {
    return new BearerInterceptor(value_);
  }

 private:
  const std::string value_;
};

}  // namespace token_channel_internal

// A channel to `target` whose calls all carry `token` (no metadata when empty).
inline std::shared_ptr<grpc::Channel> TokenChannel(
    const std::string& target, const std::string& token,
    std::shared_ptr<grpc::ChannelCredentials> credentials = grpc::InsecureChannelCredentials(),
    const grpc::ChannelArguments& args = grpc::ChannelArguments()) {
  std::vector<std::unique_ptr<grpc::experimental::ClientInterceptorFactoryInterface>> creators;
  if (!token.empty()) {
    creators.push_back(std::make_unique<token_channel_internal::BearerFactory>(token));
  }
  return grpc::experimental::CreateCustomChannelWithInterceptors(target, credentials, args,
                                                                 std::move(creators));
}

}  // namespace recordstore::server

#endif  // RECORDSTORE_SERVER_TOKEN_CHANNEL_H_
