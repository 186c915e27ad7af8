package datasets

import (
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
)

func TestReviewVerdicts(t *testing.T) {
	const head = "case_id,target,repeat,status,score,prompt,response,expected,facts.score,facts.reason,vars,tags,metadata,verdict,corrected,comment\n"
	tests := []struct {
		name, file, text string
		want             []ReviewVerdict
		err              string
	}{
		{name: "csv", file: "r.csv", text: head +
			"Q-1,v1,0,passed,1,p,\"two\nlines\",e,1,ok,,,,Accept ,,\n" +
			"Q-2,v1,1,passed,1,p,r,e,1,ok,,,,,,\n" +
			"Q-3,v2,,failed,0,p,r,e,0,no,,,,reject,,\n" +
			"Q-4,v2,0,failed,0,p,r,e,0,no,,,,,right answer,\n",
			want: []ReviewVerdict{
				{Line: 2, CaseID: "Q-1", Target: "v1", Verdict: "accept"},
				{Line: 4, CaseID: "Q-2", Target: "v1", Repeat: 1},
				{Line: 5, CaseID: "Q-3", Target: "v2", Verdict: "reject"},
				{Line: 6, CaseID: "Q-4", Target: "v2", Corrected: true},
			}},
		{name: "jsonl", file: "r.jsonl", text: `{"case_id":"Q-1","target":"v1","repeat":2,"verdict":"SKIP"}` + "\n\n" + `{"case_id":"Q-2","target":"v1","verdict":"reject"}` + "\n",
			want: []ReviewVerdict{{Line: 1, CaseID: "Q-1", Target: "v1", Repeat: 2, Verdict: "skip"}, {Line: 3, CaseID: "Q-2", Target: "v1", Verdict: "reject"}}},
		{name: "a sheet without target and repeat", file: "r.csv", text: "case_id,expected,verdict,corrected\nQ-1,e,reject,\n",
			want: []ReviewVerdict{{Line: 2, CaseID: "Q-1", Verdict: "reject"}}},
		{name: "bad verdict", file: "r.csv", text: head + "Q-1,v1,0,passed,1,p,r,e,1,ok,,,,pass,,\n",
			err: `r.csv:2: verdict: got "pass", expected accept, reject, skip or nothing`},
		{name: "bad repeat", file: "r.csv", text: head + "Q-1,v1,two,passed,1,p,r,e,1,ok,,,,accept,,\n",
			err: `r.csv:2:8: repeat: expected a whole number from 0, got "two"`},
		{name: "negative repeat", file: "r.jsonl", text: `{"case_id":"Q-1","repeat":-1,"verdict":"accept"}` + "\n",
			err: `r.jsonl:1: repeat: expected a whole number from 0, got -1`},
		{name: "no case id", file: "r.csv", text: head + ",v1,0,passed,1,p,r,e,1,ok,,,,accept,,\n",
			err: `r.csv:2: case_id: empty: expected the case's id`},
		{name: "not a sheet", file: "r.csv", text: "id,answer\nQ-1,x\n",
			err: `r.csv:1: the header has no column case_id, expected, verdict, corrected`},
		{name: "bad JSON", file: "r.jsonl", text: `{"case_id": "Q-1", "verdict": }` + "\n",
			err: `r.jsonl:1:31: invalid JSON`},
		{name: "a format it cannot tell", file: "r.json", text: "[]",
			err: `cannot tell the sheet's format from its extension`},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			path := filepath.Join(t.TempDir(), tc.file)
			if err := os.WriteFile(path, []byte(tc.text), 0o644); err != nil {
				t.Fatal(err)
			}
			var got []ReviewVerdict
			err := ReviewVerdicts(path, func(v ReviewVerdict) error { got = append(got, v); return nil })
			if tc.err != "" {
				if err == nil || !strings.Contains(err.Error(), tc.err) || !strings.HasPrefix(err.Error(), path) {
					t.Fatalf("err = %v, want %s at the sheet's path", err, tc.err)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if !reflect.DeepEqual(got, tc.want) {
				t.Errorf("got %+v\nwant %+v", got, tc.want)
			}
		})
	}
}
