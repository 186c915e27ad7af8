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
	if len(args) < 3 {
		return args
	}
	cmd := app.Command(args[1])
	if cmd == nil {
		return args
	}
	start := 2 // the first argument after the command's name
	if sub := cmd.Command(args[2]); sub != nil {
		// A subcommand, as in "rubric cache clear --older-than 30d".
		cmd, start = sub, 3
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
