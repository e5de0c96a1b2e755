#!/usr/bin/python3
"""A Record-Store client in Python: tenant, record space, schema, puts, a paged query.

Needs Debian's python3-grpcio and python3-protobuf (for /usr/bin/python3) and the API stubs:

  mkdir -p gen && protoc -I proto --python_out=gen --grpc_out=gen \
      --plugin=protoc-gen-grpc=$(which grpc_python_plugin) proto/recordstore/v1/*.proto
  /usr/bin/python3 examples/python/shop_client.py --stubs gen --server 127.0.0.1:7878

(or `python3 -m grpc_tools.protoc ... --grpc_python_out=gen` with pip's grpcio-tools).
Run from the repository root against a running `recordstore serve`.
"""

import argparse
import json
import os
import sys

import grpc


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--server", default=os.environ.get("RECORDSTORE_SERVER", "127.0.0.1:7878"))
    parser.add_argument("--token", default=os.environ.get("RECORDSTORE_TOKEN", ""))
    parser.add_argument("--stubs", default="gen", help="where the generated *_pb2*.py are")
    parser.add_argument("--shop-dir", default="src/metadata/testdata/shop")
    parser.add_argument("--tenant", default="acme")
    parser.add_argument("--space", default="shop")
    args = parser.parse_args()
    sys.path.insert(0, args.stubs)
    from recordstore.v1 import (admin_pb2, admin_pb2_grpc, common_pb2, query_pb2, query_pb2_grpc,
                                records_pb2, records_pb2_grpc, schema_pb2, schema_pb2_grpc)

    channel = grpc.insecure_channel(args.server)
    # The token travels as call metadata on every call; the server refuses calls without one.
    if not args.token:
        parser.error("no token: pass --token or set RECORDSTORE_TOKEN "
                     "(e.g. export RECORDSTORE_TOKEN=$(cat data/admin.token))")
    metadata = [("authorization", "Bearer " + args.token)]
    admin = admin_pb2_grpc.AdminStub(channel)
    schema = schema_pb2_grpc.SchemaStub(channel)
    records = records_pb2_grpc.RecordsStub(channel)
    query = query_pb2_grpc.QueryStub(channel)

    # 1. A tenant and a record space (ALREADY_EXISTS on a second run is fine).
    for call, request in ((admin.CreateTenant, admin_pb2.CreateTenantRequest(tenant=args.tenant)),
                          (admin.CreateRecordSpace, admin_pb2.CreateRecordSpaceRequest(
                              tenant=args.tenant, record_space=args.space))):
        try:
            call(request, metadata=metadata)
        except grpc.RpcError as error:
            if error.code() != grpc.StatusCode.ALREADY_EXISTS:
                raise
    space = common_pb2.SpaceRef(tenant=args.tenant, record_space=args.space)

    # 2. The schema: .proto sources by the names they import each other by, record types with
    #    primary keys, indexes. Applying the same schema again changes nothing.
    spec = schema_pb2.SchemaSpec()
    for name, upload_as in (("shop.proto", "shop.proto"), ("common.proto", "shop/common.proto")):
        with open(os.path.join(args.shop_dir, name)) as f:
            spec.proto_files[upload_as] = f.read()
    spec.record_types.add(name="Customer", primary_key=["customer_id"])
    spec.record_types.add(name="Order", primary_key=["order_id"])
    spec.record_types.add(name="Product", primary_key=["sku"])
    spec.indexes.add(name="order_by_customer", fields=["customer_id", "total"],
                     record_types=["Order"])
    applied = schema.UpdateSchema(schema_pb2.UpdateSchemaRequest(space=space, schema=spec),
                                  metadata=metadata)
    print("schema version", applied.version)

    # 3. Records as JSON (protobuf's JSON mapping); a batch is one transaction.
    orders = [common_pb2.Record(record_type="Order", json=json.dumps(
        {"order_id": i, "customer_id": i % 3, "total": i * 100})) for i in range(1, 21)]
    put = records.PutBatch(records_pb2.PutBatchRequest(space=space, records=orders),
                           metadata=metadata)
    print("put", len(put.results), "orders")

    # 4. A query in pages of 3: each call resumes with the previous call's continuation.
    sql = "SELECT * FROM Order WHERE customer_id = 1"
    continuation, page = b"", 0
    while True:
        page += 1
        request = query_pb2.QueryRequest(space=space, sql=sql, continuation=continuation,
                                         row_limit=3, json=True)
        last = None
        for message in query.Execute(request, metadata=metadata):
            for record in message.records:
                print(f"page {page}:", record.json)
            if message.done:
                last = message
        if not last.continuation:  # SOURCE_EXHAUSTED: every result was returned
            break
        continuation = last.continuation


if __name__ == "__main__":
    try:
        main()
    except grpc.RpcError as error:
        print(f"error: {error.code().name}: {error.details()}", file=sys.stderr)
        sys.exit(2)
