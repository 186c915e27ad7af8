package leak

import (
	"bytes"
	"context"
	"fmt"
	"path/filepath"
	"slices"
)

// Index is the prompts of one or more manifests, to look cases up in:
// their sums, sorted and distinct, 32 bytes each; with n-grams, the
// distinct n-gram hashes of the files the manifests name, sorted, 8 bytes
// each. Lookups are binary searches.
type Index struct {
	// Manifests are the files read, in order.
	Manifests []string
	// Entries counts the manifest lines read.
	Entries int
	// NGrams says whether the n-grams were read.
	NGrams bool
	sums   []Sum
	ngrams []uint64
}

// Load reads the manifests at paths, streaming each line by line, and,
// with ngrams, the n-gram file each names. A manifest line that is not what
// it should be is an *Error; a manifest without an n-gram file, when ngrams
// are asked for, is an error too.
func Load(ctx context.Context, paths []string, ngrams bool) (*Index, error) {
	x := &Index{Manifests: paths, NGrams: ngrams}
	for _, p := range paths {
		h, err := Scan(p, func(_ *Entry, sum Sum, line int) error {
			if line%4096 == 0 && ctx.Err() != nil {
				return ctx.Err()
			}
			x.sums = append(x.sums, sum)
			x.Entries++
			return nil
		})
		if err != nil {
			return nil, err
		}
		if !ngrams {
			continue
		}
		if h.NGrams == "" {
			return nil, fmt.Errorf("%s:1: the header names no n-gram file (\"ngrams\"): --leak-ngrams needs the .ngrams file rubric export writes beside its manifest", p)
		}
		file := h.NGrams
		if !filepath.IsAbs(file) {
			file = filepath.Join(filepath.Dir(p), file)
		}
		if x.ngrams, err = ReadNGrams(file, x.ngrams); err != nil {
			return nil, fmt.Errorf("%s: the n-grams of manifest %s: %w", file, p, err)
		}
	}
	slices.SortFunc(x.sums, func(a, b Sum) int { return bytes.Compare(a[:], b[:]) })
	x.sums = slices.Compact(x.sums)
	x.sums = slices.Clip(x.sums)
	if len(paths) > 1 {
		slices.Sort(x.ngrams)
		x.ngrams = slices.Clip(slices.Compact(x.ngrams))
	}
	return x, nil
}

// Prompts counts the distinct prompts of the index.
func (x *Index) Prompts() int { return len(x.sums) }

// NGramCount counts the distinct n-grams of the index.
func (x *Index) NGramCount() int { return len(x.ngrams) }

// Has reports whether a prompt of the manifests has the sum s.
func (x *Index) Has(s Sum) bool {
	_, ok := slices.BinarySearchFunc(x.sums, s, func(a, b Sum) int { return bytes.Compare(a[:], b[:]) })
	return ok
}

// hasNGram reports whether the n-gram hash h is in the index.
func (x *Index) hasNGram(h uint64) bool {
	_, ok := slices.BinarySearch(x.ngrams, h)
	return ok
}

// Ref is a manifest line that lists a leaked prompt.
type Ref struct {
	Manifest string
	Line     int
	Case     string // the case exported
	Run      string // the run it was exported from
}

// maxRefs caps the manifest lines kept for one finding.
const maxRefs = 3

// locate reads the manifests again to find the lines of the sums found:
// up to maxRefs for each, and how many in all.
func (x *Index) locate(ctx context.Context, found map[Sum][]*Finding) error {
	for _, p := range x.Manifests {
		want := func(s Sum) bool { return found[s] != nil }
		_, err := scan(p, want, func(e *Entry, sum Sum, line int) error {
			if line%4096 == 0 && ctx.Err() != nil {
				return ctx.Err()
			}
			for _, f := range found[sum] {
				if len(f.Refs) < maxRefs {
					f.Refs = append(f.Refs, Ref{Manifest: p, Line: line, Case: e.Case, Run: e.Run})
				}
				f.Lines++
			}
			return nil
		})
		if err != nil {
			return err
		}
	}
	return nil
}
