//! The Lucene query-string subset alerts use, parsed into the AST.

use crate::ast::QueryAst;
use crate::DslError;

/// Parse a query string into the AST.
pub fn parse(text: &str) -> Result<QueryAst, DslError> {
    Err(DslError::QueryString {
        column: 1,
        message: format!("query strings are not supported yet: {text:?}"),
    })
}
