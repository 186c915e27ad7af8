package leak

import (
	"bufio"
	"encoding/binary"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"slices"
	"strings"
	"unicode"

	"golang.org/x/text/unicode/norm"
)

// N is the length of the n-grams compared, in words: 13, as in the test
// set contamination analysis of the GPT-3 paper (Brown et al. 2020,
// appendix C).
const N = 13

// Tokenizer names Words, the way text is cut into words for n-grams.
const Tokenizer = "rubric-words/1"

// NGramHash names the hash of an n-gram, NGramHash64.
const NGramHash = "fnv1a-64"

// ngramVersion is the version of the n-gram file's layout.
const ngramVersion = 1

// Words cuts text into the words n-grams are made of: the text in Unicode
// NFC, lower-cased, and split into the longest runs of letters, digits and
// combining marks. Everything else (white space, punctuation, symbols)
// separates words and is dropped, so "Don't!" is "don" and "t". The words
// are substrings of one new string.
func Words(text string) []string {
	s := strings.Map(unicode.ToLower, norm.NFC.String(text))
	return strings.FieldsFunc(s, func(r rune) bool {
		return !(unicode.IsLetter(r) || unicode.IsDigit(r) || unicode.IsMark(r))
	})
}

// NGramHash64 is the hash of the n-gram of words: 64-bit FNV-1a over the
// bytes of each word followed by a zero byte (a word holds none).
func NGramHash64(words []string) uint64 {
	const (
		offset = 14695981039346656037
		prime  = 1099511628211
	)
	h := uint64(offset)
	for _, w := range words {
		for i := 0; i < len(w); i++ {
			h ^= uint64(w[i])
			h *= prime
		}
		h *= prime // the zero byte: h ^= 0 changes nothing
	}
	return h
}

// NGrams calls fn with the hash of each n-gram (N words) of text, in
// order; a text of fewer than N words has none. It returns how many.
func NGrams(text string, fn func(uint64)) int {
	words := Words(text)
	n := 0
	for i := 0; i+N <= len(words); i++ {
		fn(NGramHash64(words[i : i+N]))
		n++
	}
	return n
}

// NGramSet collects n-gram hashes, each kept once. Hashes are appended to
// a slice and, whenever it has doubled since, sorted and made distinct: it
// holds at most about twice the distinct hashes, 8 bytes each, while it
// grows.
type NGramSet struct {
	h     []uint64
	dedup int // len(h) after the last compaction
}

// Add adds a hash.
func (s *NGramSet) Add(h uint64) {
	s.h = append(s.h, h)
	if len(s.h) >= 2*max(s.dedup, 1<<16) {
		s.compact()
	}
}

func (s *NGramSet) compact() {
	slices.Sort(s.h)
	s.h = slices.Compact(s.h)
	s.dedup = len(s.h)
}

// Sorted returns the distinct hashes in ascending order.
func (s *NGramSet) Sorted() []uint64 {
	s.compact()
	return s.h
}

// ngramHeader is the first line of an n-gram file.
type ngramHeader struct {
	Version   int    `json:"rubric_ngrams"`
	Tokenizer string `json:"tokenizer"`
	N         int    `json:"n"`
	Hash      string `json:"hash"`
	Count     int64  `json:"count"`
}

// WriteNGrams writes an n-gram file: a line of JSON (the layout's version,
// Tokenizer, N, NGramHash and the count of hashes), then each hash, sorted
// ascending and distinct, as 8 bytes little-endian.
func WriteNGrams(w io.Writer, sorted []uint64) error {
	head, err := json.Marshal(ngramHeader{Version: ngramVersion, Tokenizer: Tokenizer, N: N, Hash: NGramHash, Count: int64(len(sorted))})
	if err != nil {
		return err
	}
	bw := bufio.NewWriter(w)
	bw.Write(head)
	bw.WriteByte('\n')
	var b [8]byte
	for _, h := range sorted {
		binary.LittleEndian.PutUint64(b[:], h)
		bw.Write(b[:])
	}
	return bw.Flush()
}

// ReadNGrams reads an n-gram file that WriteNGrams wrote, appending its
// hashes to into. A file of another layout, tokenizer, n or hash, a count
// that does not match the file's size, or hashes out of order, is an error
// that names the file and the byte where it went wrong.
func ReadNGrams(path string, into []uint64) ([]uint64, error) {
	f, err := os.Open(path)
	if err != nil {
		return into, err
	}
	defer f.Close()
	st, err := f.Stat()
	if err != nil {
		return into, err
	}
	br := bufio.NewReaderSize(f, 1<<16)
	line, err := br.ReadSlice('\n')
	if err != nil {
		return into, fmt.Errorf("%s: byte 1: expected a header line of JSON ({\"rubric_ngrams\": %d, ...}) ending in a newline", path, ngramVersion)
	}
	var h ngramHeader
	if err := json.Unmarshal(line, &h); err != nil || h.Version == 0 {
		return into, fmt.Errorf("%s: byte 1: expected a header line of JSON ({\"rubric_ngrams\": %d, ...}), not an n-gram file rubric export wrote", path, ngramVersion)
	}
	if h.Version != ngramVersion || h.Tokenizer != Tokenizer || h.N != N || h.Hash != NGramHash {
		return into, fmt.Errorf("%s: n-grams of layout %d, tokenizer %q, n %d, hash %q: this rubric reads layout %d, %q, %d, %q; export again with it", path, h.Version, h.Tokenizer, h.N, h.Hash, ngramVersion, Tokenizer, N, NGramHash)
	}
	body := st.Size() - int64(len(line))
	if h.Count < 0 || body != 8*h.Count {
		return into, fmt.Errorf("%s: the header counts %d hashes (%d bytes) but %d bytes follow it: the file is cut short or damaged; export again", path, h.Count, 8*h.Count, body)
	}
	into = slices.Grow(into, int(h.Count))
	var b [8]byte
	var prev uint64
	for i := int64(0); i < h.Count; i++ {
		if _, err := io.ReadFull(br, b[:]); err != nil {
			if errors.Is(err, io.ErrUnexpectedEOF) || errors.Is(err, io.EOF) {
				return into, fmt.Errorf("%s: byte %d: the file ends early; export again", path, int64(len(line))+8*i+1)
			}
			return into, err
		}
		v := binary.LittleEndian.Uint64(b[:])
		if i > 0 && v <= prev {
			return into, fmt.Errorf("%s: byte %d: hashes out of order (each must be greater than the one before): the file is damaged; export again", path, int64(len(line))+8*i+1)
		}
		into = append(into, v)
		prev = v
	}
	return into, nil
}
