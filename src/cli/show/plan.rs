//! `zonekeeper show plan FILE`: a plan saved by `plan --out FILE`, shown as `plan` showed
//! it (text with each zone's diff, or the JSON with `--format json`), as `terraform show`
//! does. It reads the file alone: no repository, store or server is needed. A file that
//! is not a plan is refused (exit 1) naming the file, and the line and column when its
//! JSON is broken.

use std::path::Path;

use super::super::plan::{print_plan, print_warnings};
use super::super::{Format, Global};

/// Runs `show plan`.
pub fn run(g: &Global, file: &Path) -> miette::Result<u8> {
    let plan = crate::plan::serialize::read(file)?;
    if g.format == Format::Text {
        print_warnings(&plan.warnings);
    }
    print_plan(g.format, &plan, false)?;
    Ok(0)
}
