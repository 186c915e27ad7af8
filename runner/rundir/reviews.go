package rundir

import (
	"bufio"
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"time"
)

// ReviewsFile holds the verdicts of people who reviewed a run's results
// (in rubric view): one Review a line, appended; the last line of a result
// is its verdict.
const ReviewsFile = "reviews.jsonl"

// Review is a person's verdict on one result, as a review sheet's verdict,
// corrected and comment columns hold it.
type Review struct {
	CaseID string `json:"case_id"`
	Target string `json:"target"`
	Repeat int    `json:"repeat"`
	// Verdict is accept, reject or skip, or "": a review with no verdict,
	// no corrected answer and no comment clears the result's review.
	Verdict string `json:"verdict"`
	// Corrected is the right answer, as typed: text, or a JSON object or
	// array for a suite whose expected values are objects.
	Corrected string    `json:"corrected,omitempty"`
	Comment   string    `json:"comment,omitempty"`
	At        time.Time `json:"at"`
}

// ReviewKey names the result a review is of.
type ReviewKey struct {
	CaseID string
	Target string
	Repeat int
}

// Key is the result r is of.
func (r *Review) Key() ReviewKey { return ReviewKey{r.CaseID, r.Target, r.Repeat} }

// AppendReview adds r to the reviews of the run folder dir, in one write.
// A last line that an earlier write left cut short is cut off first, as
// ReadReviews leaves it out.
func AppendReview(dir string, r *Review) error {
	b, err := json.Marshal(r)
	if err != nil {
		return err
	}
	f, err := os.OpenFile(filepath.Join(dir, ReviewsFile), os.O_RDWR|os.O_CREATE, 0o644)
	if err != nil {
		return err
	}
	end, err := intactEnd(f)
	if err == nil {
		err = f.Truncate(end)
	}
	if err == nil {
		_, err = f.WriteAt(append(b, '\n'), end)
	}
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	return err
}

// intactEnd returns where the last whole line of f ends.
func intactEnd(f *os.File) (int64, error) {
	st, err := f.Stat()
	if err != nil {
		return 0, err
	}
	end := st.Size()
	buf := make([]byte, 4096)
	for end > 0 {
		n := int64(len(buf))
		if end < n {
			n = end
		}
		if _, err := f.ReadAt(buf[:n], end-n); err != nil {
			return 0, err
		}
		if i := bytes.LastIndexByte(buf[:n], '\n'); i >= 0 {
			return end - n + int64(i) + 1, nil
		}
		end -= n
	}
	return 0, nil
}

// ReadReviews returns the reviews of the run folder dir, the last of each
// result's, leaving out those cleared; none when the run has no
// reviews.jsonl. A malformed line is an error naming it, except a last
// line cut short by a crash, which is left out.
func ReadReviews(dir string) (map[ReviewKey]Review, error) {
	path := filepath.Join(dir, ReviewsFile)
	f, err := os.Open(path)
	if errors.Is(err, os.ErrNotExist) {
		return map[ReviewKey]Review{}, nil
	}
	if err != nil {
		return nil, err
	}
	defer f.Close()
	out := map[ReviewKey]Review{}
	sc := bufio.NewScanner(f)
	sc.Buffer(make([]byte, 64<<10), 64<<20)
	var bad error
	for line := 1; sc.Scan(); line++ {
		b := bytes.TrimSpace(sc.Bytes())
		if len(b) == 0 {
			continue
		}
		if bad != nil {
			return nil, bad // a bad line that was not the last
		}
		var r Review
		if err := json.Unmarshal(b, &r); err != nil {
			bad = fmt.Errorf("%s:%d: not a review: %v", path, line, err)
			continue
		}
		if r.Verdict == "" && r.Corrected == "" && r.Comment == "" {
			delete(out, r.Key())
			continue
		}
		out[r.Key()] = r
	}
	return out, sc.Err()
}
