package main

import (
	"strings"

	"github.com/urfave/cli/v2"
)

// flagsFirst moves a command's flags in front of its positional arguments, so
// that `rubric run suite.json --target v1` works as people expect: urfave/cli
// v2 stops reading flags at the first positional argument. Everything after
// "--" stays where it is.
func flagsFirst(app *cli.App, args []string) []string {
	at := commandAt(app, args)
	if at+1 >= len(args) {
		return args
	}
	cmd := app.Command(args[at])
	if cmd == nil {
		return args
	}
	start := at + 1 // the first argument after the command's name
	if sub := cmd.Command(args[start]); sub != nil {
		// A subcommand, as in "rubric cache clear --older-than 30d".
		cmd, start = sub, start+1
	}
	takesValue := map[string]bool{}
	for _, f := range cmd.Flags {
		_, isBool := f.(*cli.BoolFlag)
		for _, name := range f.Names() {
			takesValue[name] = !isBool
		}
	}
	var flags, rest []string
	dashdash := false
	for i := start; i < len(args); i++ {
		a := args[i]
		if a == "--" {
			rest = append(rest, args[i+1:]...)
			dashdash = true
			break
		}
		if len(a) < 2 || a[0] != '-' {
			rest = append(rest, a)
			continue
		}
		flags = append(flags, a)
		name := strings.TrimLeft(a, "-")
		if strings.Contains(name, "=") {
			continue
		}
		if takesValue[name] && i+1 < len(args) {
			i++
			flags = append(flags, args[i])
		}
	}
	out := append(append([]string(nil), args[:start]...), flags...)
	if dashdash {
		// Everything positional goes after "--", so a path that looks like a
		// flag stays a path.
		out = append(out, "--")
	}
	return append(out, rest...)
}

// commandAt returns the index in args of the command's name: after the
// program's name and the global flags (--cpuprofile FILE), which stay in
// front of it.
func commandAt(app *cli.App, args []string) int {
	takesValue := map[string]bool{}
	for _, f := range app.Flags {
		_, isBool := f.(*cli.BoolFlag)
		for _, name := range f.Names() {
			takesValue[name] = !isBool
		}
	}
	i := 1
	for i < len(args) && len(args[i]) > 1 && args[i][0] == '-' && args[i] != "--" {
		name := strings.TrimLeft(args[i], "-")
		i++
		if !strings.Contains(name, "=") && takesValue[name] {
			i++
		}
	}
	return i
}
