// A Record-Store client in Node.js: tenant, record space, schema, puts, a paged query.
// The .proto files are loaded at run time (@grpc/proto-loader): no generated code.
//
//   cd examples/node && npm install && node shop_client.js
//
// Env: RECORDSTORE_SERVER (default 127.0.0.1:7878), RECORDSTORE_TOKEN (required: every call
// needs a token, docs/security.md), RECORDSTORE_TENANT
// (default acme), RECORDSTORE_SPACE (default shop).
'use strict';

const fs = require('fs');
const path = require('path');
const grpc = require('@grpc/grpc-js');
const protoLoader = require('@grpc/proto-loader');

const root = path.resolve(__dirname, '..', '..');
const definition = protoLoader.loadSync(
    ['admin.proto', 'schema.proto', 'records.proto', 'query.proto'].map(
        (name) => `recordstore/v1/${name}`),
    {
      includeDirs: [path.join(root, 'proto')],
      keepCase: true,  // field names as in the .proto files
      longs: String,   // int64 as strings: JavaScript numbers lose precision past 2^53
      enums: String,
      defaults: true,
      oneofs: true,
    });
const v1 = grpc.loadPackageDefinition(definition).recordstore.v1;

const server = process.env.RECORDSTORE_SERVER || '127.0.0.1:7878';
const tenant = process.env.RECORDSTORE_TENANT || 'acme';
const recordSpace = process.env.RECORDSTORE_SPACE || 'shop';
const credentials = grpc.credentials.createInsecure();
const admin = new v1.Admin(server, credentials);
const schema = new v1.Schema(server, credentials);
const records = new v1.Records(server, credentials);
const query = new v1.Query(server, credentials);

// The token travels as call metadata on every call; the server refuses calls without one.
if (!process.env.RECORDSTORE_TOKEN) {
  console.error('set RECORDSTORE_TOKEN, e.g. export RECORDSTORE_TOKEN=$(cat data/admin.token)');
  process.exit(1);
}
const metadata = new grpc.Metadata();
metadata.set('authorization', `Bearer ${process.env.RECORDSTORE_TOKEN}`);

// A unary call as a promise.
function call(client, method, request) {
  return new Promise((resolve, reject) => {
    client[method](request, metadata, (error, response) => (error ? reject(error) : resolve(response)));
  });
}

// One Query.Execute call: its records and the last message (continuation, reason).
function execute(request) {
  return new Promise((resolve, reject) => {
    const found = [];
    let last = null;
    const stream = query.Execute(request, metadata);
    stream.on('data', (message) => {
      found.push(...message.records);
      if (message.done) last = message;
    });
    stream.on('error', reject);
    stream.on('end', () => resolve({records: found, last}));
  });
}

async function main() {
  // 1. A tenant and a record space (ALREADY_EXISTS on a second run is fine).
  for (const [method, request] of [['CreateTenant', {tenant}],
                                   ['CreateRecordSpace', {tenant, record_space: recordSpace}]]) {
    try {
      await call(admin, method, request);
    } catch (error) {
      if (error.code !== grpc.status.ALREADY_EXISTS) throw error;
    }
  }
  const space = {tenant, record_space: recordSpace};

  // 2. The schema: .proto sources by the names they import each other by, record types with
  //    primary keys, indexes.
  const shop = path.join(root, 'src', 'metadata', 'testdata', 'shop');
  const applied = await call(schema, 'UpdateSchema', {
    space,
    schema: {
      proto_files: {
        'shop.proto': fs.readFileSync(path.join(shop, 'shop.proto'), 'utf8'),
        'shop/common.proto': fs.readFileSync(path.join(shop, 'common.proto'), 'utf8'),
      },
      record_types: [
        {name: 'Customer', primary_key: ['customer_id']},
        {name: 'Order', primary_key: ['order_id']},
        {name: 'Product', primary_key: ['sku']},
      ],
      indexes: [{name: 'order_by_customer', fields: ['customer_id', 'total'],
                 record_types: ['Order']}],
    },
  });
  console.log('schema version', applied.version);

  // 3. Records as JSON; a batch is one transaction.
  const orders = [];
  for (let i = 1; i <= 20; i++) {
    orders.push({record_type: 'Order',
                 json: JSON.stringify({order_id: i, customer_id: i % 3, total: i * 100})});
  }
  const put = await call(records, 'PutBatch', {space, records: orders});
  console.log('put', put.results.length, 'orders');

  // 4. A query in pages of 3: each call resumes with the previous call's continuation.
  let continuation = Buffer.alloc(0);
  for (let page = 1; ; page++) {
    const {records: found, last} = await execute({
      space, sql: 'SELECT * FROM Order WHERE customer_id = 1', continuation, row_limit: 3,
      json: true,
    });
    for (const record of found) console.log(`page ${page}:`, record.json);
    if (last.continuation.length === 0) break;  // SOURCE_EXHAUSTED
    continuation = last.continuation;
  }
}

main().catch((error) => {
  console.error(`error: ${error.code}: ${error.details || error.message}`);
  process.exit(2);
});
