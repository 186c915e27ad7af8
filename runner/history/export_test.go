package history

// NewMemStore returns a new, empty Store in memory, for the conformance
// suite in conformance_test.go (package history_test).
func NewMemStore() Store { return &memStore{} }
