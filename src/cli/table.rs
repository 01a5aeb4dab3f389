//! Tables for people: columns aligned by comfy-table, no borders, a header row, each line
//! indented under the heading it belongs to and without trailing blanks.

use comfy_table::{Cell, CellAlignment, ColumnConstraint, ContentArrangement, Table, presets};

/// `rows` under `header`, columns aligned, every line indented by `indent` spaces. Columns
/// named in `right` (by index) are aligned right (counts, serials); headers always left.
pub fn render(header: &[&str], rows: &[Vec<String>], right: &[usize], indent: usize) -> String {
    let mut table = Table::new();
    table
        .load_preset(presets::NOTHING)
        .set_content_arrangement(ContentArrangement::Disabled)
        .set_header(
            header
                .iter()
                .map(|h| Cell::new(h).set_alignment(CellAlignment::Left)),
        );
    for row in rows {
        table.add_row(row.clone());
    }
    for (i, column) in table.column_iter_mut().enumerate() {
        column.set_padding((0, 2));
        column.set_constraint(ColumnConstraint::ContentWidth);
        if right.contains(&i) {
            column.set_cell_alignment(CellAlignment::Right);
        }
    }
    let pad = " ".repeat(indent);
    let mut out = String::new();
    for line in table.lines() {
        out.push_str(&pad);
        out.push_str(line.trim_end());
        out.push('\n');
    }
    out
}

#[cfg(test)]
mod tests {
    #[test]
    fn columns_line_up_whatever_the_widths() {
        let rows = vec![
            vec![
                "ns1".to_string(),
                "127.0.0.2:53".to_string(),
                "7".to_string(),
            ],
            vec![
                "a-long-server-name".to_string(),
                "[2001:db8::53]:5300".to_string(),
                "12345".to_string(),
            ],
        ];
        let text = super::render(&["SERVER", "ADDRESS", "ZONES"], &rows, &[2], 2);
        let lines: Vec<&str> = text.lines().collect();
        assert_eq!(lines.len(), 3, "{text}");
        let col = |l: &str, what: &str| l.find(what).unwrap();
        assert_eq!(col(lines[0], "ADDRESS"), col(lines[1], "127.0.0.2"));
        assert_eq!(col(lines[1], "127.0.0.2"), col(lines[2], "[2001"));
        // right-aligned counts end in one column
        assert_eq!(lines[1].len(), lines[2].len(), "{text}");
        assert!(
            lines
                .iter()
                .all(|l| l.starts_with("  ") && !l.ends_with(' '))
        );
    }
}
