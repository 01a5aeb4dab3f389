//! Unit tests of the master-file reader.
