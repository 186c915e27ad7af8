package history

import (
	"context"
	"fmt"
	"path/filepath"
	"testing"
	"time"
)

// BenchmarkRecord records a run of 100,000 cases (a third failed, two
// slices each) in a history that holds it already, as a resumed run is
// recorded again: the index staged, the old record deleted, the new one
// written, all in one transaction.
func BenchmarkRecord(b *testing.B) {
	for _, n := range []int{10_000, 100_000} {
		b.Run(fmt.Sprintf("cases=%d", n), func(b *testing.B) {
			ctx := context.Background()
			s, err := Open(filepath.Join(b.TempDir(), "history.db"))
			if err != nil {
				b.Fatal(err)
			}
			defer s.Close()
			cases := bigIndex(n)
			r := testRun(b, "bench", "triage", time.Now(), "candidate")
			b.ReportAllocs()
			b.ResetTimer()
			for range b.N {
				if err := s.Record(ctx, r, feed(cases)); err != nil {
					b.Fatal(err)
				}
			}
			b.ReportMetric(float64(b.Elapsed().Microseconds())/float64(b.N*n)*1000, "ns/case")
		})
	}
}
