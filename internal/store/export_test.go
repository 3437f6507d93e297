package store

// Test-only views of the SQLite group writer, for group_test.go.

// GroupQueued is how many transactions wait for the SQLite writer.
func GroupQueued(s *Store) int { return s.group.queued() }

// GroupCommits is how many commits the SQLite writer has made.
func GroupCommits(s *Store) int64 { return s.group.commits.Load() }
