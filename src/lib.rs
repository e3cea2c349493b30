//! ds-snapshot-keeper
