// Command rubric runs a team's own eval suites against its language models,
// gates CI on the results, and reports what failed.
package main

import "os"

func main() { os.Exit(Main(os.Args, os.Stdout, os.Stderr)) }
