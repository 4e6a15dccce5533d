//! Output in kubectl's shapes: tables laid out like kubectl's (Go tabwriter, three spaces of
//! padding), `-o json|yaml|name|wide` and a v1 `List` for several objects. The cells come
//! from [`crate::ops::rows`].

pub use crate::ops::rows::*;
use std::io::Write;

#[derive(Clone, Copy, Debug, PartialEq, Eq, clap::ValueEnum)]
pub enum Output {
    Json,
    Yaml,
    Wide,
    Name,
}

/// Writes rows as kubectl does: columns padded with at least three spaces.
pub fn table(out: &mut dyn Write, rows: &[Vec<String>]) -> std::io::Result<()> {
    let mut tw = tabwriter::TabWriter::new(Vec::new()).minwidth(0).padding(3);
    for row in rows {
        writeln!(tw, "{}", row.join("\t"))?;
    }
    tw.flush()?;
    let bytes = tw
        .into_inner()
        .map_err(|e| std::io::Error::other(e.to_string()))?;
    // tabwriter pads the last column too; kubectl does not.
    for line in String::from_utf8_lossy(&bytes).lines() {
        writeln!(out, "{}", line.trim_end())?;
    }
    Ok(())
}

/// A v1 `List` of `items`, as `kubectl get -o json` prints several objects.
pub fn list<T: serde::Serialize>(items: &[T]) -> serde_json::Value {
    serde_json::json!({
        "apiVersion": "v1",
        "items": items,
        "kind": "List",
        "metadata": { "resourceVersion": "" }
    })
}

pub fn print_json(out: &mut dyn Write, v: &serde_json::Value) -> std::io::Result<()> {
    let text = serde_json::to_string_pretty(v).map_err(std::io::Error::other)?;
    writeln!(out, "{text}")
}

pub fn print_yaml(out: &mut dyn Write, v: &serde_json::Value) -> std::io::Result<()> {
    let text = serde_saphyr::to_string(v).map_err(|e| std::io::Error::other(e.to_string()))?;
    write!(out, "{text}")?;
    if !text.ends_with('\n') {
        writeln!(out)?;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tables_pad_like_kubectl() {
        let mut out = Vec::new();
        let rows = vec![
            vec!["NAME".to_string(), "STATUS".to_string()],
            vec!["pi".to_string(), "Complete".to_string()],
        ];
        table(&mut out, &rows).unwrap();
        assert_eq!(
            String::from_utf8(out).unwrap(),
            "NAME   STATUS\npi     Complete\n"
        );
    }
}
