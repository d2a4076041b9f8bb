//! Report formats, declared in etc/report_formats.yaml (the seed's
//! plugins/report_formats.cfg). A renderer is one file plus one line in
//! `renderer`; a format names a renderer and may set its extension/title.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};

use super::DailyReport;

pub type RenderFn = fn(&DailyReport) -> String;

/// Renderer registry: name -> (render, default extension, MIME type).
pub fn renderer(name: &str) -> Option<(RenderFn, &'static str, &'static str)> {
    Some(match name {
        "text" => (super::render_text::render, "txt", "text/plain"),
        "csv" => (super::render_csv::render, "csv", "text/csv"),
        "json" => (super::render_json::render, "json", "application/json"),
        "html" => (super::render_html::render, "html", "text/html"),
        _ => return None,
    })
}

#[derive(Debug, Clone, Default, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct FormatsFile {
    /// Format used when `--format` is not given (default `text`).
    #[serde(default)]
    pub default: Option<String>,
    #[serde(default)]
    pub formats: BTreeMap<String, FormatSpec>,
    #[serde(default)]
    pub baseline: BaselineSpec,
    /// Optional message-rate section from a mail log (needs `logstats`).
    #[serde(default)]
    pub mail_log: Option<PathBuf>,
}

#[derive(Debug, Clone, Default, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct FormatSpec {
    /// text, csv, json or html.
    pub renderer: String,
    /// File extension under `<reports>/daily/` (default: the renderer's).
    #[serde(default)]
    pub ext: Option<String>,
}

#[derive(Debug, Clone, Default, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct BaselineSpec {
    /// Days of history (default 14).
    #[serde(default)]
    pub days: Option<u32>,
    /// Mark latency when today's p50 exceeds the baseline p50 by this factor (default 1.5).
    #[serde(default)]
    pub latency_factor: Option<f64>,
    /// Mark availability when it is this many points below baseline (default 1.0).
    #[serde(default)]
    pub availability_drop: Option<f64>,
}

impl BaselineSpec {
    pub fn days(&self) -> u32 {
        self.days.unwrap_or(14)
    }
    pub fn latency_factor(&self) -> f64 {
        self.latency_factor.unwrap_or(1.5)
    }
    pub fn availability_drop(&self) -> f64 {
        self.availability_drop.unwrap_or(1.0)
    }
}

impl FormatsFile {
    /// The four built-in formats, used when no file is given.
    pub fn builtin() -> Self {
        let formats = ["text", "csv", "json", "html"]
            .into_iter()
            .map(|n| {
                (
                    n.to_string(),
                    FormatSpec {
                        renderer: n.into(),
                        ext: None,
                    },
                )
            })
            .collect();
        FormatsFile {
            default: Some("text".into()),
            formats,
            ..Default::default()
        }
    }

    pub fn load(path: &Path) -> Result<Self, String> {
        let text = std::fs::read_to_string(path).map_err(|e| format!("{}: {e}", path.display()))?;
        let f: FormatsFile = serde_yaml::from_str(&text).map_err(|e| {
            let at = e
                .location()
                .map(|l| format!(":{}:{}", l.line(), l.column()))
                .unwrap_or_default();
            format!("{}{at}: {e}", path.display())
        })?;
        for (name, spec) in &f.formats {
            if renderer(&spec.renderer).is_none() {
                return Err(format!(
                    "{}: formats.{name}.renderer: unknown renderer {} (text, csv, json, html)",
                    path.display(),
                    spec.renderer
                ));
            }
        }
        if let Some(d) = &f.default
            && !f.formats.contains_key(d)
        {
            return Err(format!("{}: default: no format named {d}", path.display()));
        }
        Ok(f)
    }

    pub fn default_name(&self) -> String {
        self.default.clone().unwrap_or_else(|| "text".into())
    }

    /// (render, extension, MIME type) of a declared format.
    pub fn get(&self, name: &str) -> Result<(RenderFn, String, &'static str), String> {
        let spec = self.formats.get(name).ok_or_else(|| {
            let names: Vec<&str> = self.formats.keys().map(String::as_str).collect();
            format!("unknown format {name} (declared: {})", names.join(", "))
        })?;
        let (f, ext, mime) = renderer(&spec.renderer)
            .ok_or_else(|| format!("unknown renderer {}", spec.renderer))?;
        Ok((f, spec.ext.clone().unwrap_or_else(|| ext.to_string()), mime))
    }
}
