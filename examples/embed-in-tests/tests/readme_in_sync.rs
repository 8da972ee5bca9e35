//! The README's Rust code blocks appear verbatim in `tests/readme_example.rs`, which runs them.

const README: &str = include_str!("../../../README.md");
const EXAMPLE: &str = include_str!("readme_example.rs");

/// The text of every ```` ```rust ```` block of `markdown`.
fn rust_blocks(markdown: &str) -> Vec<&str> {
    let mut blocks = Vec::new();
    let mut rest = markdown;
    while let Some(start) = rest.find("```rust\n") {
        let body = &rest[start + "```rust\n".len()..];
        let Some(end) = body.find("```") else {
            break;
        };
        blocks.push(&body[..end]);
        rest = &body[end + 3..];
    }
    blocks
}

#[test]
fn every_rust_block_of_the_readme_is_run_verbatim_by_the_example() {
    let blocks = rust_blocks(README);
    assert!(!blocks.is_empty(), "the README has no ```rust block");
    for block in blocks {
        assert!(
            EXAMPLE.contains(block),
            "this README block is not verbatim in examples/embed-in-tests/tests/readme_example.rs; \
             copy it there:\n{block}"
        );
    }
}

#[test]
fn the_block_reader_finds_each_block_whole() {
    let markdown = "text\n```rust\nfn a() {}\n```\nmore\n```sh\nls\n```\n```rust\nfn b() {}\n```\n";
    assert_eq!(rust_blocks(markdown), ["fn a() {}\n", "fn b() {}\n"]);
}
