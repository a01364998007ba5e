//! xtask's tests, one binary: the committed output matches the specs whatever rustfmt is
//! installed (`codegen_drift`), the fixture spec's output as snapshots and its coverage of the
//! format (`fixture`), one exact message per malformed spec (`malformed`), and the format's own
//! JSON Schema and the walkthrough of `spec/README.md` (`spec_format`).

mod codegen_drift;
mod fixture;
mod malformed;
mod spec_format;
