//! VPC flow logs as text (the mapping is [`crate::vpcflow`]): files delivered to S3, with a
//! header line that sets the format, and header-less lines (CloudWatch Logs messages, or files
//! without a header) in [`Options::flow_format`](crate::Options::flow_format) or the default
//! version-2 format.
//!
//! Recognised, not assumed: a line is a flow log's when it is a header line (a usable one, or
//! one that names a field no flow log has: then every line of the file is refused with it), or
//! when it has the format's number of fields and, where the format has a `version`, that field is
//! a number. In a file, the first line decides for the whole file.

use crate::pipeline::Pipeline;
use crate::source::{Confidence, Line, Source};
use crate::vpcflow::{self, FlowFormat};
use crate::ErrorKind;

/// VPC flow log lines.
pub(crate) struct VpcFlow;

/// What one read remembers: the file's format (from its header, or the configured one), and a
/// header that could not be used (its line, and why).
#[derive(Default)]
struct State {
    format: Option<FlowFormat>,
    bad_header: Option<(u64, String)>,
}

impl State {
    /// The format lines are read by: the file's header's, else the configured one, else the
    /// default.
    fn format(&mut self, configured: Option<&FlowFormat>) -> &FlowFormat {
        self.format.get_or_insert_with(|| configured.cloned().unwrap_or_default())
    }
}

impl Source for VpcFlow {
    fn name(&self) -> &'static str {
        "vpc_flow"
    }

    fn recognise_text(&self, line: &str, at: Line, p: &mut Pipeline<'_>) -> Confidence {
        if at == (Line::File { first: true }) && !matches!(FlowFormat::parse_header(line), Ok(None)) {
            return Confidence::Certain;
        }
        let configured = p.opts().flow_format.as_ref();
        if p.state.get::<State>().format(configured).fits(line) {
            Confidence::Likely
        } else {
            Confidence::No
        }
    }

    fn normalize_text(&self, line: &str, at: Line, p: &mut Pipeline<'_>) {
        if let Some((header, why)) = &p.state.get::<State>().bad_header {
            // No line can be read reliably by a header that cannot be used: each is an error.
            let kind = ErrorKind::BadFlowHeader(format!("line not read: the header on line {header} {why}"));
            return p.fail(kind);
        }
        if at == (Line::File { first: true }) {
            match FlowFormat::parse_header(line) {
                Ok(Some(format)) => {
                    p.state.get::<State>().format = Some(format);
                    return p.pass();
                }
                Err(kind) => {
                    let why = match &kind {
                        ErrorKind::BadFlowHeader(why) => format!("is unusable ({why})"),
                        other => format!("is unusable ({other})"),
                    };
                    let header = p.next_record();
                    p.fail(kind);
                    p.state.get::<State>().bad_header = Some((header, why));
                    return;
                }
                Ok(None) => {}
            }
        }
        let received = p.now();
        let configured = p.opts().flow_format.as_ref();
        let result = vpcflow::normalize_line(p.state.get::<State>().format(configured), line, received);
        match result {
            Ok(Some(e)) => p.done(Ok(e)),
            Ok(None) => p.skip("flow_nodata_skipdata"),
            Err(k) => p.fail(k),
        }
    }
}
