package main

import (
	"embed"
	"errors"
	"fmt"
	"io/fs"
	"maps"
	"os"
	"path/filepath"
	"slices"
	"strings"

	"github.com/urfave/cli/v2"

	"github.com/rubric-eval/rubric/evals"
)

//go:embed starter
var starter embed.FS

func initCommand() *cli.Command {
	return &cli.Command{
		Name:      "init",
		Usage:     "write a starter suite, dataset, recordings and project config into DIR",
		ArgsUsage: "[DIR]",
		Flags: []cli.Flag{
			&cli.BoolFlag{Name: "force", Usage: "overwrite files that exist"},
		},
		Action: func(cliCtx *cli.Context) error {
			if cliCtx.NArg() > 1 {
				return usageError("init: expected at most one folder")
			}
			dir := cliCtx.Args().First()
			if dir == "" {
				dir = "."
			}
			files, err := starterFiles()
			if err != nil {
				return err
			}
			if !cliCtx.Bool("force") {
				var exist []string
				for name := range files {
					if _, err := os.Stat(filepath.Join(dir, name)); err == nil {
						exist = append(exist, filepath.Join(dir, name))
					}
				}
				if len(exist) > 0 {
					return usageError("init: would overwrite %s; pass --force to replace them", strings.Join(slices.Sorted(slices.Values(exist)), ", "))
				}
			}
			if err := os.MkdirAll(dir, 0o755); err != nil {
				return err
			}
			for _, name := range slices.Sorted(maps.Keys(files)) {
				if err := os.WriteFile(filepath.Join(dir, name), files[name], 0o644); err != nil {
					return err
				}
				fmt.Fprintln(cliCtx.App.ErrWriter, "wrote", filepath.Join(dir, name))
			}
			fmt.Fprintf(cliCtx.App.ErrWriter, "\nnext: rubric run %s\n", filepath.Join(dir, "suite.json"))
			return nil
		},
	}
}

func starterFiles() (map[string][]byte, error) {
	files := map[string][]byte{
		"suite.schema.json":  evals.SchemaJSON,
		"config.schema.json": evals.ConfigSchemaJSON(),
	}
	err := fs.WalkDir(starter, "starter", func(path string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		b, err := starter.ReadFile(path)
		files[strings.TrimPrefix(path, "starter/")] = b
		return err
	})
	if err != nil {
		return nil, errors.New("reading the embedded starter: " + err.Error())
	}
	return files, nil
}
