#!/usr/bin/python3
"""The Record-Store gRPC API driven by a Python client (Debian's python3-grpcio).

Registered with CTest (src/cli/CMakeLists.txt). Generates the API stubs and the shop schema's
message classes at test time into a temporary directory (grpc_tools.protoc when installed,
else protoc + grpc_python_plugin), starts recordstore_test_server on a free port and checks:
schema upload, puts (JSON and protobuf bytes), queries resumed with continuations across
calls, a schema evolution adding an index while writers keep writing, and error cases.

Exits 77 (CTest's SKIP_RETURN_CODE for this test) when grpcio is not installed.
Run by hand:
  /usr/bin/python3 tests/python/client_test.py --server-binary build/tests/recordstore_test_server \
      --proto-dir proto --shop-dir src/metadata/testdata/shop
"""

import argparse
import collections
import glob
import os
import shutil
import subprocess
import sys
import tempfile
import threading
import time
import unittest

try:
    import grpc
    import google.protobuf  # noqa: F401
except ImportError as error:
    print(f"[  SKIPPED ] python3-grpcio / python3-protobuf not installed ({error}); "
          "install them with scripts/install-deps.sh")
    sys.exit(77)

ARGS = None
STUBS_DIR = None
SERVER = None  # subprocess.Popen
ADDRESS = None
TOKEN = None  # the server's admin token


def generate_stubs(proto_dir, shop_dir, out_dir):
    """API stubs (recordstore/v1/*_pb2*.py) and shop message classes (shop/*_pb2.py)."""
    api = sorted(os.path.relpath(p, proto_dir)
                 for p in glob.glob(os.path.join(proto_dir, "recordstore/v1/*.proto")))
    # The shop files import each other as "shop/common.proto": give protoc that layout.
    shop_root = os.path.join(out_dir, "shop_src")
    os.makedirs(os.path.join(shop_root, "shop"))
    for name in ("shop.proto", "common.proto"):
        shutil.copy(os.path.join(shop_dir, name), os.path.join(shop_root, "shop", name))
    shop = ["shop/shop.proto", "shop/common.proto"]
    try:
        import grpc_tools.protoc  # noqa: F401
        protoc = [sys.executable, "-m", "grpc_tools.protoc"]
        plugin = []
        grpc_out = "--grpc_python_out=" + out_dir
    except ImportError:
        protoc = [shutil.which("protoc") or "protoc"]
        plugin_path = shutil.which("grpc_python_plugin")
        if plugin_path is None:
            raise RuntimeError("neither grpc_tools nor grpc_python_plugin is installed "
                               "(Debian: protobuf-compiler-grpc)")
        plugin = ["--plugin=protoc-gen-grpc=" + plugin_path]
        grpc_out = "--grpc_out=" + out_dir
    subprocess.run(protoc + plugin + ["-I", proto_dir, "--python_out=" + out_dir, grpc_out] + api,
                   check=True)
    subprocess.run(protoc + ["-I", shop_root, "--python_out=" + out_dir] + shop, check=True)
    sys.path.insert(0, out_dir)


def start_server(binary):
    process = subprocess.Popen([binary], stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                               text=True)
    line = process.stdout.readline().strip()
    token = process.stdout.readline().strip()
    if not line.startswith("port ") or not token.startswith("token "):
        process.kill()
        raise RuntimeError(f"recordstore_test_server said {line!r}, {token!r}")
    return process, "127.0.0.1:" + line.split()[1], token.split()[1]


class _CallDetails(collections.namedtuple(
        "_CallDetails", ("method", "timeout", "metadata", "credentials", "wait_for_ready",
                         "compression")), grpc.ClientCallDetails):
    pass


class _BearerToken(grpc.UnaryUnaryClientInterceptor, grpc.UnaryStreamClientInterceptor):
    """Adds "authorization: Bearer <token>" to every call, as any client of the API must."""

    def __init__(self, token):
        self.metadata = ("authorization", "Bearer " + token)

    def _with_token(self, details):
        metadata = list(details.metadata or []) + [self.metadata]
        return _CallDetails(details.method, details.timeout, metadata, details.credentials,
                            getattr(details, "wait_for_ready", None),
                            getattr(details, "compression", None))

    def intercept_unary_unary(self, continuation, details, request):
        return continuation(self._with_token(details), request)

    def intercept_unary_stream(self, continuation, details, request):
        return continuation(self._with_token(details), request)


def stubs():
    from recordstore.v1 import admin_pb2_grpc, query_pb2_grpc, records_pb2_grpc, schema_pb2_grpc
    channel = grpc.intercept_channel(grpc.insecure_channel(ADDRESS, options=[
        ("grpc.max_send_message_length", 64 << 20),
        ("grpc.max_receive_message_length", 64 << 20)]), _BearerToken(TOKEN))
    return (admin_pb2_grpc.AdminStub(channel), schema_pb2_grpc.SchemaStub(channel),
            records_pb2_grpc.RecordsStub(channel), query_pb2_grpc.QueryStub(channel))


def shop_schema(extra_indexes=()):
    from recordstore.v1 import schema_pb2
    spec = schema_pb2.SchemaSpec()
    for name in ("shop.proto", "common.proto"):
        with open(os.path.join(ARGS.shop_dir, name)) as f:
            spec.proto_files["shop.proto" if name == "shop.proto" else "shop/common.proto"] = f.read()
    for name, key in (("Customer", "customer_id"), ("Order", "order_id"), ("Product", "sku")):
        spec.record_types.add(name=name, primary_key=[key])
    spec.indexes.add(name="order_by_customer", fields=["customer_id", "total"],
                     record_types=["Order"])
    spec.indexes.add(name="order_by_total", fields=["total"], record_types=["Order"])
    for index in extra_indexes:
        spec.indexes.add(**index)
    return spec


class ClientTest(unittest.TestCase):
    def setUp(self):
        from recordstore.v1 import admin_pb2, common_pb2
        self.admin, self.schema, self.records, self.query = stubs()
        self.pb = __import__("recordstore.v1", fromlist=["admin_pb2", "common_pb2", "records_pb2",
                                                         "query_pb2", "schema_pb2"])
        self.tenant = self.id().split(".")[-1].replace("test_", "t_")
        self.admin.CreateTenant(admin_pb2.CreateTenantRequest(tenant=self.tenant))
        self.admin.CreateRecordSpace(admin_pb2.CreateRecordSpaceRequest(
            tenant=self.tenant, record_space="shop"))
        self.space = common_pb2.SpaceRef(tenant=self.tenant, record_space="shop")

    def apply(self, spec, dry_run=False):
        return self.schema.UpdateSchema(self.pb.schema_pb2.UpdateSchemaRequest(
            space=self.space, schema=spec, dry_run=dry_run))

    def put_orders(self, ids, mode=None):
        from shop import shop_pb2
        records = []
        for i in ids:
            order = shop_pb2.Order(order_id=i, customer_id=i % 3, total=i * 10)
            order.shipping.city = f"c{i % 2}"
            records.append(self.pb.common_pb2.Record(record_type="Order",
                                                     proto=order.SerializeToString()))
        request = self.pb.records_pb2.PutBatchRequest(space=self.space, records=records)
        if mode is not None:
            request.mode = mode
        return self.records.PutBatch(request)

    def run_query(self, sql, row_limit, **extra):
        """Every result, one Execute call per page; returns (order ids, calls)."""
        from shop import shop_pb2
        ids, calls, continuation = [], 0, b""
        while True:
            calls += 1
            request = self.pb.query_pb2.QueryRequest(space=self.space, sql=sql,
                                                     continuation=continuation,
                                                     row_limit=row_limit, **extra)
            last = None
            for message in self.query.Execute(request):
                for record in message.records:
                    order = shop_pb2.Order()
                    order.ParseFromString(record.proto)
                    ids.append(order.order_id)
                if message.done:
                    last = message
            self.assertIsNotNone(last, "the stream ended without its last message")
            if not last.continuation:
                # Nothing left: every result returned, or the statement's own LIMIT used up.
                self.assertIn(last.reason, (self.pb.common_pb2.SOURCE_EXHAUSTED,
                                            self.pb.common_pb2.RETURN_LIMIT_REACHED))
                return ids, calls
            self.assertLess(calls, 10000, "the query never ends")
            self.assertEqual(last.reason, self.pb.common_pb2.RETURN_LIMIT_REACHED)
            continuation = last.continuation

    def test_schema_upload(self):
        dry = self.apply(shop_schema(), dry_run=True)
        self.assertEqual(dry.version, 1)
        self.assertEqual(list(dry.changed_indexes), ["order_by_customer", "order_by_total"])
        got = self.schema.GetSchema(self.pb.schema_pb2.GetSchemaRequest(space=self.space))
        self.assertEqual(got.version, 0, "a dry run stores nothing")

        applied = self.apply(shop_schema())
        self.assertEqual(applied.version, 1)
        got = self.schema.GetSchema(self.pb.schema_pb2.GetSchemaRequest(space=self.space))
        self.assertEqual(got.version, 1)
        self.assertEqual(sorted(got.schema.proto_files), ["shop.proto", "shop/common.proto"])
        self.assertEqual({i.name: i.state for i in got.indexes},
                         {"order_by_customer": "readable", "order_by_total": "readable"})

        # Also as a compiled FileDescriptorSet instead of .proto text.
        from google.protobuf import descriptor_pb2
        from shop import common_pb2, shop_pb2
        files = descriptor_pb2.FileDescriptorSet()
        for module in (common_pb2, shop_pb2):
            module.DESCRIPTOR.CopyToProto(files.file.add())
        spec = shop_schema()
        spec.ClearField("proto_files")
        spec.descriptor_set.CopyFrom(files)
        # Accepted (as the same schema, or as a new version of it: the sources differ).
        self.assertIn(self.apply(spec, dry_run=True).version, (1, 2))

    def test_puts_gets_and_queries_with_continuations(self):
        from shop import shop_pb2
        self.apply(shop_schema())
        put = self.put_orders(range(1, 31))
        self.assertEqual(len(put.results), 30)
        self.assertEqual(put.results[0].primary_key[0].int64, 1)
        self.assertEqual(len(put.results[0].version), 12)

        # JSON in, JSON out.
        one = self.records.Put(self.pb.records_pb2.PutRequest(
            space=self.space, record=self.pb.common_pb2.Record(
                record_type="Customer", json='{"customer_id": 7, "name": "Ann"}')))
        self.assertFalse(one.replaced)
        got = self.records.Get(self.pb.records_pb2.GetRequest(
            space=self.space, record_type="Customer",
            primary_key=[self.pb.common_pb2.Value(int64=7)], json=True))
        self.assertTrue(got.found)
        self.assertEqual(got.record.json, '{"customer_id":"7","name":"Ann"}')
        got = self.records.Get(self.pb.records_pb2.GetRequest(
            space=self.space, record_type="Order", primary_key=[self.pb.common_pb2.Value(int64=12)]))
        order = shop_pb2.Order()
        order.ParseFromString(got.record.proto)
        self.assertEqual((order.order_id, order.total, order.shipping.city), (12, 120, "c0"))

        # customer_id = 1: 10 orders; pages of 3 are four calls, each resuming where the last
        # stopped, in index order (customer_id, total).
        ids, calls = self.run_query("SELECT * FROM Order WHERE customer_id = 1", row_limit=3)
        self.assertEqual(ids, list(range(1, 31, 3)))
        self.assertEqual(calls, 4)
        ids, calls = self.run_query("SELECT * FROM Order WHERE total >= 100 ORDER BY total DESC",
                                    row_limit=7)
        self.assertEqual(ids, list(range(30, 9, -1)))
        # 21 results in pages of 7: the server looks one result past each page, so the third
        # call already says SOURCE_EXHAUSTED and no empty fourth call is needed.
        self.assertEqual(calls, 3)
        # LIMIT counts over the whole query, across calls.
        ids, _ = self.run_query("SELECT * FROM Order ORDER BY total LIMIT 5", row_limit=2)
        self.assertEqual(ids, [1, 2, 3, 4, 5])

        # The structured form of a query.
        q = self.pb.query_pb2
        structured = q.StructuredQuery(record_types=["Order"], sort=["total"])
        structured.filter.comparison.field = "customer_id"
        structured.filter.comparison.operator = q.Comparison.EQUALS
        structured.filter.comparison.values.add(int64=2)
        results = []
        for message in self.query.Execute(q.QueryRequest(space=self.space, structured=structured)):
            results += [r.primary_key[0].int64 for r in message.records]
        self.assertEqual(results, list(range(2, 31, 3)))

        plan = self.query.Explain(q.QueryRequest(space=self.space,
                                                 sql="SELECT * FROM Order WHERE customer_id = 1"))
        self.assertTrue(plan.plan.startswith("IndexScan order_by_customer"), plan.plan)

        deleted = self.records.Delete(self.pb.records_pb2.DeleteRequest(
            space=self.space, record_type="Order", primary_key=[self.pb.common_pb2.Value(int64=1)]))
        self.assertTrue(deleted.deleted)
        ids, _ = self.run_query("SELECT * FROM Order WHERE customer_id = 1", row_limit=0)
        self.assertEqual(ids, list(range(4, 31, 3)))

    def test_schema_evolution_while_writing(self):
        self.apply(shop_schema())
        # More records than the server indexes inline, so a new index builds online.
        for start in range(0, 3000, 500):
            self.put_orders(range(start + 1, start + 501))

        written, errors, stop = [], [], threading.Event()

        def writer():
            next_id = 100000
            while not stop.is_set():
                try:
                    ids = list(range(next_id, next_id + 5))
                    self.put_orders(ids)
                    written.extend(ids)
                    next_id += 5
                except grpc.RpcError as error:  # conflicts come back as ABORTED after retries
                    errors.append(error)
                    if error.code() != grpc.StatusCode.ABORTED:
                        return

        thread = threading.Thread(target=writer)
        thread.start()
        try:
            time.sleep(0.2)
            evolved = self.apply(shop_schema(extra_indexes=[
                {"name": "order_by_city", "fields": ["shipping.city"], "record_types": ["Order"]}]))
            self.assertEqual(evolved.version, 2)
            self.assertEqual(list(evolved.changed_indexes), ["order_by_city"])
            self.assertEqual(list(evolved.building_indexes), ["order_by_city"])
            deadline = time.time() + 120
            while True:
                status = self.schema.GetSchema(self.pb.schema_pb2.GetSchemaRequest(space=self.space))
                state = {i.name: i for i in status.indexes}["order_by_city"]
                if state.state == "readable":
                    break
                self.assertEqual(state.state, "write_only")
                self.assertLess(time.time(), deadline, "the index build did not finish")
                time.sleep(0.05)
            time.sleep(0.2)  # writes after the build are maintained by the index itself
        finally:
            stop.set()
            thread.join()
        self.assertEqual([e for e in errors if e.code() != grpc.StatusCode.ABORTED], [])
        self.assertGreater(len(written), 0, "the writer wrote nothing during the build")

        sql = "SELECT * FROM Order WHERE shipping.city = 'c1'"
        plan = self.query.Explain(self.pb.query_pb2.QueryRequest(space=self.space, sql=sql))
        self.assertTrue(plan.plan.startswith("IndexScan order_by_city"), plan.plan)
        ids, _ = self.run_query(sql, row_limit=1000)
        expected = [i for i in list(range(1, 3001)) + written if i % 2 == 1]
        self.assertEqual(sorted(ids), sorted(expected))
        self.assertEqual(len(ids), len(set(ids)), "no record indexed twice")

    def test_error_cases(self):
        pb = self.pb
        Code = grpc.StatusCode

        def code_of(call, *args):
            with self.assertRaises(grpc.RpcError) as caught:
                result = call(*args)
                if hasattr(result, "__iter__"):
                    list(result)
            return caught.exception.code(), caught.exception.details()

        code, details = code_of(self.admin.CreateTenant,
                                pb.admin_pb2.CreateTenantRequest(tenant=self.tenant))
        self.assertEqual(code, Code.ALREADY_EXISTS)
        self.assertIn(f"tenant {self.tenant} already exists", details)
        code, _ = code_of(self.admin.CreateTenant, pb.admin_pb2.CreateTenantRequest(tenant="a/b"))
        self.assertEqual(code, Code.INVALID_ARGUMENT)
        code, _ = code_of(self.admin.DeleteTenant, pb.admin_pb2.DeleteTenantRequest(tenant="nope"))
        self.assertEqual(code, Code.NOT_FOUND)

        # Data before any schema, then a schema that does not compile.
        code, details = code_of(self.records.Put, pb.records_pb2.PutRequest(
            space=self.space, record=pb.common_pb2.Record(record_type="Order", json="{}")))
        self.assertEqual(code, Code.INVALID_ARGUMENT)
        self.assertIn("has no schema yet", details)
        broken = shop_schema()
        broken.proto_files["shop.proto"] = "syntax = \"proto3\"; message Order { int64 x = 1 }"
        code, _ = code_of(self.apply, broken)
        self.assertEqual(code, Code.INVALID_ARGUMENT)

        self.apply(shop_schema())
        self.put_orders([1, 2, 3])
        code, details = code_of(self.records.Put, pb.records_pb2.PutRequest(
            space=self.space, record=pb.common_pb2.Record(record_type="Invoice", json="{}")))
        self.assertEqual(code, Code.INVALID_ARGUMENT)
        self.assertIn("no record type \"Invoice\"", details)
        code, _ = code_of(self.records.Put, pb.records_pb2.PutRequest(
            space=self.space, record=pb.common_pb2.Record(record_type="Order", proto=b"\xff\xff")))
        self.assertEqual(code, Code.INVALID_ARGUMENT)
        code, _ = code_of(self.put_orders, [3, 4], pb.records_pb2.INSERT)
        self.assertEqual(code, Code.ALREADY_EXISTS)
        got = self.records.Get(pb.records_pb2.GetRequest(
            space=self.space, record_type="Order", primary_key=[pb.common_pb2.Value(int64=4)]))
        self.assertFalse(got.found, "a failed batch stores none of its records")
        code, _ = code_of(self.put_orders, [9], pb.records_pb2.UPDATE)
        self.assertEqual(code, Code.NOT_FOUND)

        code, _ = code_of(self.query.Execute, pb.query_pb2.QueryRequest(
            space=self.space, sql="SELECT * FROM Order WHERE"))
        self.assertEqual(code, Code.INVALID_ARGUMENT)
        code, _ = code_of(self.query.Execute, pb.query_pb2.QueryRequest(
            space=self.space, sql="SELECT * FROM Order", continuation=b"not a continuation"))
        self.assertEqual(code, Code.INVALID_ARGUMENT)
        code, _ = code_of(self.query.Execute, pb.query_pb2.QueryRequest(
            space=pb.common_pb2.SpaceRef(tenant=self.tenant, record_space="other"),
            sql="SELECT * FROM Order"))
        self.assertEqual(code, Code.NOT_FOUND)
        # A message over the server's 16 MB limit.
        code, _ = code_of(self.records.Put, pb.records_pb2.PutRequest(
            space=self.space, record=pb.common_pb2.Record(record_type="Order",
                                                          proto=b"\x00" * (17 << 20))))
        self.assertEqual(code, Code.RESOURCE_EXHAUSTED)

        # Nothing stored changed and the server still answers.
        ids, _ = self.run_query("SELECT * FROM Order ORDER BY total", row_limit=0)
        self.assertEqual(ids, [1, 2, 3])
        tenants = self.admin.ListTenants(pb.admin_pb2.ListTenantsRequest())
        self.assertIn(self.tenant, tenants.tenants)
        # Without the token, or with one that is not a token, every call is refused.
        from recordstore.v1 import admin_pb2_grpc, query_pb2_grpc
        channel = grpc.insecure_channel(ADDRESS)
        for metadata in ([], [("authorization", "Bearer t0ken")]):
            code, details = code_of(admin_pb2_grpc.AdminStub(channel).ListTenants,
                                    pb.admin_pb2.ListTenantsRequest(), None, metadata)
            self.assertEqual(code, Code.UNAUTHENTICATED, details)
            code, details = code_of(query_pb2_grpc.QueryStub(channel).Execute,
                                    pb.query_pb2.QueryRequest(space=self.space,
                                                              sql="SELECT * FROM Order"),
                                    None, metadata)
            self.assertEqual(code, Code.UNAUTHENTICATED, details)
        channel.close()


def main():
    global ARGS, STUBS_DIR, SERVER, ADDRESS, TOKEN
    parser = argparse.ArgumentParser()
    parser.add_argument("--server-binary", required=True)
    parser.add_argument("--proto-dir", required=True)
    parser.add_argument("--shop-dir", required=True)
    ARGS, rest = parser.parse_known_args()
    STUBS_DIR = tempfile.mkdtemp(prefix="recordstore_py_")
    try:
        generate_stubs(ARGS.proto_dir, ARGS.shop_dir, STUBS_DIR)
        SERVER, ADDRESS, TOKEN = start_server(ARGS.server_binary)
        program = unittest.main(argv=[sys.argv[0], "-v"] + rest, exit=False)
        return 0 if program.result.wasSuccessful() else 1
    finally:
        if SERVER is not None:
            SERVER.stdin.close()  # the server shuts down when its stdin closes
            try:
                SERVER.wait(timeout=30)
            except subprocess.TimeoutExpired:
                SERVER.kill()
        shutil.rmtree(STUBS_DIR, ignore_errors=True)


if __name__ == "__main__":
    sys.exit(main())
