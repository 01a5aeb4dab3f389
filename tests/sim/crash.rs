//! The exhaustive crash test.
