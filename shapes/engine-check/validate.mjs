// Second, independent SHACL engine for poems-kg: shacl-engine (SHACL Core + SHACL-SPARQL through Comunica).
// Usage: node validate.mjs DATA.nq  -> prints {"conforms": bool, "results": [...]} as JSON; exit 1 when not conforming.
import { readFileSync, readdirSync } from 'node:fs'
import { dirname, join } from 'node:path'
import { fileURLToPath } from 'node:url'
import rdfDataModel from '@rdfjs/data-model'
import rdfDataset from '@rdfjs/dataset'
import { Parser } from 'n3'
import { Validator } from 'shacl-engine'
import { targetResolvers, validations } from 'shacl-engine/sparql.js'

const shapesDir = join(dirname(fileURLToPath(import.meta.url)), '..')
const sh = 'http://www.w3.org/ns/shacl#'

function read (text, format) {
  const dataset = rdfDataset.dataset()
  for (const quad of new Parser({ format, factory: rdfDataModel }).parse(text)) {
    dataset.add(quad)
  }
  return dataset
}

const shapes = rdfDataset.dataset()
for (const name of readdirSync(shapesDir).filter(n => n.endsWith('.ttl')).sort()) {
  for (const quad of read(readFileSync(join(shapesDir, name), 'utf8'), 'text/turtle')) {
    shapes.add(quad)
  }
}
// pyshacl reads the default graph as the union of all graphs; give this engine the same view: every quad stays in
// its named graph (for GRAPH patterns) and is also visible in the default graph.
const data = read(readFileSync(process.argv[2], 'utf8'), 'application/n-quads')
for (const quad of [...data]) {
  data.add(rdfDataModel.quad(quad.subject, quad.predicate, quad.object, rdfDataModel.defaultGraph()))
}
const validator = new Validator(shapes, { factory: rdfDataModel, targetResolvers, validations })
const report = await validator.validate({ dataset: data })
const results = report.results
  .filter(r => r.severity?.value === sh + 'Violation' || r.severity === undefined)
  .map(r => ({
    focusNode: r.focusNode?.value ?? r.focusNode?.term?.value,
    message: (r.message ?? []).map(m => m.value ?? String(m)),
    value: r.value?.value ?? r.value?.term?.value ?? null
  }))
process.stdout.write(JSON.stringify({ conforms: report.conforms, results }) + '\n')
process.exitCode = report.conforms ? 0 : 1
