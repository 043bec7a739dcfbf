// The peer of bench/run.sh: what a Caddy user would otherwise run for a
// validated JSON endpoint. Fastify 5, its body validated by ajv against the
// same draft 2020-12 schema (bench/schema10.json), without type coercion,
// defaults or removal of extra properties, so an invalid body gets 400 as it
// does from the endpoint. One process, behind Caddy's reverse_proxy.
'use strict'
const fs = require('node:fs')
const path = require('node:path')
const Ajv2020 = require('ajv/dist/2020')
const fastify = require('fastify')({ logger: false })

const ajv = new Ajv2020({ coerceTypes: false, useDefaults: false, removeAdditional: false, allErrors: false })
fastify.setValidatorCompiler(({ schema }) => ajv.compile(schema))

const schema = JSON.parse(fs.readFileSync(path.join(__dirname, '..', 'schema10.json'), 'utf8'))
fastify.post('/p/validated', { schema: { body: schema } }, async (req) => ({ id: req.body.id }))

fastify.listen({ host: '127.0.0.1', port: Number(process.env.PEER_PORT) }, (err) => {
  if (err) {
    console.error(err)
    process.exit(1)
  }
})
