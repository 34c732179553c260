//! Fuzz the query-string parser: parsing never panics; whatever parses prints, and the printed
//! form parses back to the same AST and renders as OpenSearch JSON.
#![no_main]

use libfuzzer_sys::fuzz_target;
use tripline_dsl::query_string::{parse, to_query_string};

fuzz_target!(|data: &[u8]| {
    let Ok(text) = std::str::from_utf8(data) else { return };
    let Ok(ast) = parse(text) else { return };
    let _ = tripline_dsl::opensearch::query(&ast);
    let printed = to_query_string(&ast).expect("every parsed query prints");
    let again = parse(&printed).expect("the printed query parses");
    assert_eq!(again, ast, "{text:?} printed as {printed:?}");
});
