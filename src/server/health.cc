#include "server/health.h"

#include <algorithm>
#include <utility>

#include "grpc/health/v1/health.grpc.pb.h"

namespace recordstore::server {
namespace {

namespace health = ::grpc::health::v1;

class HealthService final : public health::Health::Service {
 public:
  explicit HealthService(std::vector<std::string> services) : services_(std::move(services)) {}

  grpc::Status Check(grpc::ServerContext* /*context*/, const health::HealthCheckRequest* request,
                     health::HealthCheckResponse* response) override {
    const std::string& name = request->service();
    if (!name.empty() && std::find(services_.begin(), services_.end(), name) == services_.end()) {
      return grpc::Status(grpc::StatusCode::NOT_FOUND, "no service \"" + name + "\" here");
    }
    response->set_status(health::HealthCheckResponse::SERVING);
    return grpc::Status::OK;
  }

 private:
  const std::vector<std::string> services_;
};

}  // namespace

std::unique_ptr<grpc::Service> MakeHealthService(std::vector<std::string> services) {
  return std::make_unique<HealthService>(std::move(services));
}

}  // namespace recordstore::server
