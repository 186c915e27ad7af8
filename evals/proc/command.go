package proc

import (
	"bytes"
	"encoding/json"
	"errors"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strconv"
	"strings"
	"time"

	"github.com/rubric-eval/rubric/evals"
)

// Cmd is a program ready to run: found when the suite loaded, with its
// arguments, the folder it runs in, and how long it may take.
type Cmd struct {
	Path string   // the program, an absolute path (Resolve)
	Args []string // its arguments, command[1:]
	Dir  string   // the folder it runs in
	// Timeout bounds one request: a run, or with a Pool the time from
	// writing the request's line to reading the answer's.
	Timeout time.Duration
	// MaxStdout is the most bytes of stdout read for one request (with a
	// Pool, of one line); more is an Overflow.
	MaxStdout int
}

// Name names the command in messages: the program, and its first argument
// (the script, for an interpreter), quoted.
func (c *Cmd) Name() string {
	n := filepath.Base(c.Path)
	if len(c.Args) > 0 {
		n += " " + c.Args[0]
	}
	return strconv.Quote(evals.Clip(n, 60))
}

// ParseCommand reads the "command" field: a non-empty array of strings, the
// program and its arguments. Problems are *evals.FieldError at command or
// command.N.
func ParseCommand(raw json.RawMessage, example string) ([]string, error) {
	raw = bytes.TrimSpace(raw)
	if len(raw) == 0 {
		return nil, evals.FieldErrorf("command", "missing: expected the program and its arguments, e.g. %s", example)
	}
	if raw[0] != '[' {
		return nil, evals.FieldErrorf("command", "expected an array of strings, the program and its arguments (no shell), e.g. %s; got %s", example, evals.JSONKind(raw))
	}
	var elems []json.RawMessage
	if err := json.Unmarshal(raw, &elems); err != nil {
		return nil, evals.FieldErrorf("command", "%v", err)
	}
	if len(elems) == 0 {
		return nil, evals.FieldErrorf("command", "empty array: expected the program and its arguments, e.g. %s", example)
	}
	argv := make([]string, len(elems))
	for i, el := range elems {
		field := "command." + strconv.Itoa(i)
		if len(el) == 0 || el[0] != '"' {
			return nil, evals.FieldErrorf(field, "expected a string, got %s", evals.JSONKind(el))
		}
		if err := json.Unmarshal(el, &argv[i]); err != nil {
			return nil, evals.FieldErrorf(field, "%v", err)
		}
		if strings.IndexByte(argv[i], 0) >= 0 {
			return nil, evals.FieldErrorf(field, "holds a NUL character, which no program argument can")
		}
	}
	return argv, nil
}

// Place is where a command runs, and how messages name it.
type Place struct {
	Dir     string // the folder the command runs in
	Folder  string // how messages name Dir: "the suite's folder"
	Beside  string // how they name a file there: "next to the suite"
	Example string // a program there, as a command names it: "./score.py"
}

// Resolve finds the program and returns its absolute path: a name with a
// slash is a path relative to at.Dir (where the program runs); any other
// name is looked up in PATH. It must exist and be executable now, when the
// suite loads. Problems are *evals.FieldError at command.0.
func Resolve(name string, at Place) (string, error) {
	if name == "" {
		return "", evals.FieldErrorf("command.0", "empty program name: expected a program in PATH or a path relative to %s", at.Folder)
	}
	if !strings.Contains(name, "/") {
		p, err := exec.LookPath(name)
		if err != nil && !errors.Is(err, exec.ErrDot) {
			return "", evals.FieldErrorf("command.0", "program %q not found in PATH: write a path with a slash (%s) for a file %s", name, at.Example, at.Beside)
		}
		if p, err = filepath.Abs(p); err != nil {
			return "", evals.FieldErrorf("command.0", "%v", err)
		}
		return p, nil
	}
	p := name
	if !filepath.IsAbs(p) {
		p = filepath.Join(at.Dir, p)
	}
	fi, err := os.Stat(p)
	switch {
	case err != nil:
		var pe *os.PathError
		if errors.As(err, &pe) {
			err = pe.Err
		}
		return "", evals.FieldErrorf("command.0", "cannot run %q (%s): %v", name, p, err)
	case fi.IsDir():
		return "", evals.FieldErrorf("command.0", "cannot run %q (%s): is a directory", name, p)
	case runtime.GOOS != "windows" && fi.Mode().Perm()&0o111 == 0:
		return "", evals.FieldErrorf("command.0", "%q (%s) is not executable: make it so (chmod +x), or name its interpreter first: [\"python3\", %q]", name, p, name)
	}
	// Absolute, as Cmd.Path must be: exec reads a relative path against
	// the folder the command runs in (Cmd.Dir, itself relative to ours:
	// a suite loaded as sub/suite.json would run sub/sub/score.py), and
	// looks a path without a slash (score.py, the suite in ours) up in PATH.
	abs, err := filepath.Abs(p)
	if err != nil {
		return "", evals.FieldErrorf("command.0", "%v", err)
	}
	return abs, nil
}
