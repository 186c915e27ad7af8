// Package leak guards an eval suite against its cases leaking into
// training data: rubric export writes a manifest of the prompts it exported
// (hashes of the normalised messages) and an index of their word 13-grams;
// rubric run and validate render every case of a suite and look each one up
// in the manifests given.
//
// The normalisation and the hash (Hash, Canonical) are the one
// implementation both sides use; docs/leakage.md describes them exactly,
// with the memory each part takes.
package leak
