//! End-to-end tests of the `guichet` binary, compiled into one test binary.
//! They run the real binary on the real default models.

#![allow(clippy::unwrap_used, clippy::expect_used)]

mod cli;
mod issue_10_durability;
mod issue_17_hostile_files;
mod issue_18_models;
mod issue_21_notices;
mod issue_21_operations;
mod issue_22_crawl;
mod issue_22_ocr;
mod issue_23_openai;
mod issue_3_models_fetch;
mod issue_4_generation;
mod issue_5_knowledge_base;
mod issue_6_answering;
mod issue_6_docker;
mod issue_7_referents;
mod issue_8_eval;
mod issue_9_web;
mod support;
