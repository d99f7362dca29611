//! Aligned text tables for listings, in the Azure CLI's look: a header row, a dashed rule,
//! then one row per item; cells may be coloured without breaking the alignment.

/// One cell: its text and an optional ANSI colour code.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Cell {
    text: String,
    colour: Option<&'static str>,
}

impl Cell {
    /// A coloured cell (the colour is only used when the table is rendered with colours).
    pub fn coloured(text: impl Into<String>, colour: &'static str) -> Self {
        Cell { text: text.into(), colour: Some(colour) }
    }

    /// The text, wrapped in its colour when `colour` is on.
    pub fn paint(&self, colour: bool) -> String {
        match self.colour.filter(|_| colour) {
            Some(code) => format!("\x1b[{code}m{}\x1b[0m", self.text),
            None => self.text.clone(),
        }
    }
}

impl<T: Into<String>> From<T> for Cell {
    fn from(text: T) -> Self {
        Cell { text: text.into(), colour: None }
    }
}

/// A table being filled.
#[derive(Debug, Clone)]
pub struct Table {
    headers: Vec<&'static str>,
    rows: Vec<Vec<Cell>>,
}

impl Table {
    /// An empty table with these column titles.
    pub fn new(headers: &[&'static str]) -> Self {
        Table { headers: headers.to_vec(), rows: Vec::new() }
    }

    /// Adds a row; missing cells are blank, extra cells are dropped.
    pub fn row(&mut self, cells: Vec<Cell>) {
        let mut cells = cells;
        cells.resize(self.headers.len(), Cell::default());
        self.rows.push(cells);
    }

    /// The table as text, each line ending in `\n`, without trailing spaces. Widths count
    /// characters of the plain text, so colour codes do not shift the columns.
    pub fn render(&self, colour: bool) -> String {
        let mut widths: Vec<usize> = self.headers.iter().map(|h| h.chars().count()).collect();
        for row in &self.rows {
            for (w, cell) in widths.iter_mut().zip(row) {
                *w = (*w).max(cell.text.chars().count());
            }
        }
        let mut out = String::new();
        let header: Vec<Cell> = self.headers.iter().map(|h| Cell::from(*h)).collect();
        let rule: Vec<Cell> = widths.iter().map(|w| Cell::from("-".repeat(*w))).collect();
        for row in std::iter::once(&header).chain(std::iter::once(&rule)).chain(&self.rows) {
            let mut line = String::new();
            for (i, (cell, width)) in row.iter().zip(&widths).enumerate() {
                if i > 0 {
                    line.push_str("  ");
                }
                line.push_str(&cell.paint(colour));
                line.push_str(&" ".repeat(width - cell.text.chars().count()));
            }
            out.push_str(line.trim_end());
            out.push('\n');
        }
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sample() -> Table {
        let mut t = Table::new(&["RUN ID", "STATUS", "TASK"]);
        t.row(vec!["0001".into(), Cell::coloured("Succeeded", "32"), "nightly".into()]);
        t.row(vec!["00a".into(), Cell::coloured("Failed", "31")]);
        t
    }

    #[test]
    fn columns_align_and_lines_have_no_trailing_spaces() {
        assert_eq!(
            sample().render(false),
            "RUN ID  STATUS     TASK\n------  ---------  -------\n0001    Succeeded  nightly\n00a     Failed\n"
        );
    }

    #[test]
    fn colours_do_not_move_columns() {
        let text = sample().render(true);
        let plain: String = text.replace("\x1b[32m", "").replace("\x1b[31m", "").replace("\x1b[0m", "");
        assert_eq!(plain, sample().render(false));
        assert!(text.contains("\x1b[32mSucceeded\x1b[0m  nightly"));
    }

    #[test]
    fn non_ascii_text_is_measured_in_characters() {
        let mut t = Table::new(&["A", "B"]);
        t.row(vec!["ünï".into(), "x".into()]);
        assert_eq!(t.render(false), "A    B\n---  -\nünï  x\n");
    }
}
