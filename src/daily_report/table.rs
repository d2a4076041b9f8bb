//! Boxed text tables in the seed's style (systest.log / qmonitor.log):
//! `+---+` rules, a title row spanning the table, ` cell ` padding.

pub struct Table {
    pub title: String,
    /// Column headers; `>` prefix right-aligns the column (numbers).
    pub head: Vec<&'static str>,
    pub rows: Vec<Vec<String>>,
}

/// Cells never exceed this width (long messages are cut with `…`).
const MAX_CELL: usize = 60;

fn fit(s: &str, w: usize) -> String {
    let one: String = s
        .chars()
        .map(|c| if c.is_control() { ' ' } else { c })
        .collect::<String>()
        .replace('|', "/");
    if one.chars().count() <= w {
        one
    } else {
        let mut t: String = one.chars().take(w.saturating_sub(1)).collect();
        t.push('…');
        t
    }
}

fn len(s: &str) -> usize {
    s.chars().count()
}

impl Table {
    pub fn new(title: impl Into<String>, head: Vec<&'static str>) -> Self {
        Table {
            title: title.into(),
            head,
            rows: vec![],
        }
    }

    pub fn row(&mut self, cells: Vec<String>) {
        self.rows.push(cells);
    }

    pub fn render(&self) -> String {
        let n = self.head.len();
        let names: Vec<&str> = self
            .head
            .iter()
            .map(|h| h.trim_start_matches('>'))
            .collect();
        let right: Vec<bool> = self.head.iter().map(|h| h.starts_with('>')).collect();
        let mut rows: Vec<Vec<String>> = self
            .rows
            .iter()
            .map(|r| {
                (0..n)
                    .map(|i| fit(r.get(i).map_or("", String::as_str), MAX_CELL))
                    .collect()
            })
            .collect();
        if rows.is_empty() {
            let mut r = vec![String::new(); n];
            r[0] = "(none)".into();
            rows.push(r);
        }
        let mut w: Vec<usize> = names.iter().map(|h| len(h)).collect();
        for r in &rows {
            for (i, c) in r.iter().enumerate() {
                w[i] = w[i].max(len(c));
            }
        }
        let span = w.iter().sum::<usize>() + 3 * (n - 1);
        if len(&self.title) > span {
            w[n - 1] += len(&self.title) - span;
        }
        let span = w.iter().sum::<usize>() + 3 * (n - 1);
        let rule = |cols: &[usize]| {
            let mut s = String::from("+");
            for c in cols {
                s.push_str(&"-".repeat(c + 2));
                s.push('+');
            }
            s.push('\n');
            s
        };
        let line = |cells: &[String]| {
            let mut s = String::from("|");
            for (i, c) in cells.iter().enumerate() {
                let pad = " ".repeat(w[i] - len(c));
                if right[i] {
                    s.push_str(&format!(" {pad}{c} |"));
                } else {
                    s.push_str(&format!(" {c}{pad} |"));
                }
            }
            s.push('\n');
            s
        };
        let mut out = rule(&[span]);
        out.push_str(&format!(
            "| {}{} |\n",
            self.title,
            " ".repeat(span - len(&self.title))
        ));
        out.push_str(&rule(&w));
        out.push_str(&line(
            &names.iter().map(|s| s.to_string()).collect::<Vec<_>>(),
        ));
        out.push_str(&rule(&w));
        for r in &rows {
            out.push_str(&line(r));
        }
        out.push_str(&rule(&w));
        out
    }
}
