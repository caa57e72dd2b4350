//! `calmctl schema`: print the JSON Schema of calm.yaml.

use crate::{Status, output};

pub(crate) fn schema() -> Status {
    let schema = calm_config::schema::json_schema();
    let mut text = serde_json::to_string_pretty(&schema).unwrap_or_default();
    text.push('\n');
    match output::stdout(&text) {
        Ok(()) => Status::Success,
        Err(e) => {
            output::stderr(&format!("error: cannot write the schema: {e}\n"));
            Status::Failure
        }
    }
}
