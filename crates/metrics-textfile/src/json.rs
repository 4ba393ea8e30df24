//! `--from json`: the metrics of a selfheal tool's `--format json` report
//! (`metrics: [{name, type, unit, help, samples: [{labels, value}]}]`, a
//! non-finite value as the string `NaN`, `+Inf` or `-Inf`), rendered as
//! text by the same code that renders `--format prom`.

use selfheal_core::metrics::{self, MetricFamily, MetricKind, Sample, Unit};
use serde_json::Value;

/// The report's metrics as exposition text, with `labels` added.
pub(crate) fn to_text(json: &str, labels: &[(String, String)]) -> Result<String, String> {
    let report: Value =
        serde_json::from_str(json).map_err(|e| format!("input is not a JSON report: {e}"))?;
    let list = report.get("metrics").and_then(Value::as_array).ok_or(
        "the JSON has no \"metrics\" array: give it the output of a selfheal tool's --format json",
    )?;
    let families = list
        .iter()
        .enumerate()
        .map(|(index, value)| {
            family(value, labels).map_err(|why| format!("metrics[{index}]: {why}"))
        })
        .collect::<Result<Vec<_>, _>>()?;
    Ok(metrics::render_prom(&families, labels))
}

fn family(value: &Value, extra: &[(String, String)]) -> Result<MetricFamily, String> {
    let name = text(value, "name")?;
    if !metrics::is_metric_name(name) {
        return Err(format!("{name:?} is not a metric name"));
    }
    let kind = match text(value, "type")? {
        "gauge" => MetricKind::Gauge,
        "counter" => MetricKind::Counter,
        other => return Err(format!("type {other:?}: selfheal reports gauge or counter")),
    };
    let unit = match value.get("unit").and_then(Value::as_str) {
        Some("seconds") => Unit::Seconds,
        Some("bytes") => Unit::Bytes,
        Some("ratio") => Unit::Ratio,
        _ => Unit::Count,
    };
    let samples = value
        .get("samples")
        .and_then(Value::as_array)
        .ok_or("no \"samples\" array")?
        .iter()
        .enumerate()
        .map(|(index, s)| sample(s, extra).map_err(|why| format!("samples[{index}]: {why}")))
        .collect::<Result<Vec<_>, _>>()?;
    // A struct literal, not MetricFamily::new: bad input must be an error
    // (the validator reports it), never a panic.
    Ok(MetricFamily {
        name: name.to_owned(),
        kind,
        unit,
        help: value
            .get("help")
            .and_then(Value::as_str)
            .unwrap_or("")
            .to_owned(),
        samples,
    })
}

fn text<'a>(value: &'a Value, key: &str) -> Result<&'a str, String> {
    value
        .get(key)
        .and_then(Value::as_str)
        .ok_or_else(|| format!("no {key:?} string"))
}

fn sample(value: &Value, extra: &[(String, String)]) -> Result<Sample, String> {
    let mut labels = Vec::new();
    if let Some(map) = value.get("labels").and_then(Value::as_object) {
        for (name, v) in map {
            if !metrics::is_label_name(name) {
                return Err(format!("{name:?} is not a label name"));
            }
            if extra.iter().any(|(key, _)| key == name) {
                return Err(format!(
                    "the report already has label {name:?}: --label {name} would give it twice"
                ));
            }
            let v = v
                .as_str()
                .ok_or_else(|| format!("label {name:?} is not a string"))?;
            labels.push((name.clone(), v.to_owned()));
        }
    }
    let value = match value.get("value") {
        Some(Value::Number(n)) => n.as_f64().ok_or("value out of range")?,
        Some(Value::String(s)) if s == "NaN" => f64::NAN,
        Some(Value::String(s)) if s == "+Inf" => f64::INFINITY,
        Some(Value::String(s)) if s == "-Inf" => f64::NEG_INFINITY,
        _ => return Err("value must be a number, \"NaN\", \"+Inf\" or \"-Inf\"".into()),
    };
    Ok(Sample { labels, value })
}

#[cfg(test)]
mod tests {
    use super::to_text;

    #[test]
    fn renders_a_report_with_labels_and_special_values() {
        let json = r#"{"tool":"x","metrics":[{"name":"selfheal_x_up","type":"gauge","unit":"count",
            "help":"Up.","samples":[{"labels":{"model":"a\"b"},"value":1},{"labels":{},"value":"NaN"}]}]}"#;
        let text = to_text(json, &[("host".into(), "h1".into())]).unwrap();
        assert_eq!(
            text,
            "# HELP selfheal_x_up Up.\n# TYPE selfheal_x_up gauge\n\
             selfheal_x_up{host=\"h1\",model=\"a\\\"b\"} 1\nselfheal_x_up{host=\"h1\"} NaN\n"
        );
    }

    #[test]
    fn refuses_what_is_not_a_report() {
        assert!(to_text("[]", &[]).unwrap_err().contains("metrics"));
        assert!(to_text("{", &[]).unwrap_err().contains("JSON"));
        let bad = r#"{"metrics":[{"name":"9x","type":"gauge","samples":[]}]}"#;
        assert!(to_text(bad, &[]).unwrap_err().contains("metrics[0]"));
        let labelled = r#"{"metrics":[{"name":"x","type":"gauge","samples":[{"labels":{"host":"a"},"value":1}]}]}"#;
        let why = to_text(labelled, &[("host".into(), "b".into())]).unwrap_err();
        assert!(
            why.contains("samples[0]: the report already has label \"host\""),
            "{why}"
        );
    }
}
