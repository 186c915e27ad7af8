// Package evalstest holds test doubles of the interfaces in evals, for the
// tests of every package that calls them: Provider, a scriptable model
// endpoint that also embeds. It imports evals only.
package evalstest
