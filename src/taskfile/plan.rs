//! The execution plan: the step dependency graph with ACR's semantics.
//!
//! A step without `when` waits for the previous step in the file; `when: ["-"]` waits for nothing;
//! `when: [ids]` waits for those steps. Validation only lets a step name earlier steps, so the graph
//! is acyclic by construction and file order is a topological order.

use super::diag::{Diagnostic, Pos};
use super::task::{TaskFile, When};
use petgraph::graph::{DiGraph, NodeIndex};
use serde::Serialize;

/// One step of the plan.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct PlanStep {
    /// Step id after defaulting.
    pub id: String,
    /// `build`, `cmd` or `push`.
    pub kind: &'static str,
    /// Ids of the steps this one waits for; empty when it starts at once.
    pub depends_on: Vec<String>,
}

/// The dependency graph of a task.
#[derive(Clone, Debug)]
pub struct Plan {
    steps: Vec<PlanStep>,
    /// Index-based edges, dependency → dependent; node `i` is step `i`.
    graph: DiGraph<(), ()>,
}

/// The JSON form: exactly `{"steps":[{"id","kind","depends_on"}]}` in file order.
#[derive(Serialize)]
struct PlanJson<'a> {
    steps: &'a [PlanStep],
}

impl Plan {
    /// Builds the graph of a validated task.
    pub fn build(task: &TaskFile) -> Plan {
        let mut graph = DiGraph::with_capacity(task.steps.len(), task.steps.len());
        let nodes: Vec<NodeIndex> = task.steps.iter().map(|_| graph.add_node(())).collect();
        let positions: std::collections::HashMap<&str, usize> =
            task.steps.iter().enumerate().map(|(i, s)| (s.id.as_str(), i)).collect();
        let index_of = |id: &str| positions.get(id).copied();
        let mut steps = Vec::with_capacity(task.steps.len());
        for (i, step) in task.steps.iter().enumerate() {
            let deps: Vec<usize> = match &step.when {
                When::Previous => i.checked_sub(1).into_iter().collect(),
                When::Immediately => Vec::new(),
                When::After(ids) => ids.iter().filter_map(|d| index_of(d)).collect(),
            };
            for d in &deps {
                graph.add_edge(nodes[*d], nodes[i], ());
            }
            steps.push(PlanStep {
                id: step.id.clone(),
                kind: step.kind.name(),
                depends_on: deps.iter().map(|d| task.steps[*d].id.clone()).collect(),
            });
        }
        Plan { steps, graph }
    }

    /// The steps in file order.
    pub fn steps(&self) -> &[PlanStep] {
        &self.steps
    }

    /// Indices of the steps step `i` waits for.
    pub fn dependencies(&self, i: usize) -> Vec<usize> {
        self.neighbors(i, petgraph::Direction::Incoming)
    }

    /// Indices of the steps that wait for step `i`.
    pub fn dependents(&self, i: usize) -> Vec<usize> {
        self.neighbors(i, petgraph::Direction::Outgoing)
    }

    /// Whether step `a` comes before step `b`: `b` waits for it, directly or through others.
    pub fn precedes(&self, a: usize, b: usize) -> bool {
        a != b && petgraph::algo::has_path_connecting(&self.graph, NodeIndex::new(a), NodeIndex::new(b), None)
    }

    fn neighbors(&self, i: usize, dir: petgraph::Direction) -> Vec<usize> {
        let mut v: Vec<usize> = self.graph.neighbors_directed(NodeIndex::new(i), dir).map(|n| n.index()).collect();
        v.sort_unstable();
        v.dedup();
        v
    }

    /// Groups the steps in waves: wave 0 starts at once, wave n waits for something in wave n-1.
    /// Steps of one wave can run in parallel.
    pub fn waves(&self) -> Vec<Vec<usize>> {
        // File order is topological (dependencies always come earlier), so one pass suffices.
        let mut level = vec![0usize; self.steps.len()];
        for i in 0..self.steps.len() {
            level[i] = self.dependencies(i).iter().map(|d| level[*d] + 1).max().unwrap_or(0);
        }
        let depth = level.iter().max().map_or(0, |m| m + 1);
        let mut waves = vec![Vec::new(); depth];
        for (i, l) in level.iter().enumerate() {
            waves[*l].push(i);
        }
        waves
    }

    /// The plan as JSON, keys in the documented order (`id`, `kind`, `depends_on`).
    pub fn to_json(&self) -> String {
        serde_json::to_string(&PlanJson { steps: &self.steps }).unwrap_or_default()
    }

    /// The plan as text, one wave per block.
    pub fn to_text(&self) -> String {
        let mut out = String::new();
        for (n, wave) in self.waves().iter().enumerate() {
            let label = if wave.len() > 1 { " (parallel)" } else { "" };
            out.push_str(&format!("wave {}{label}\n", n + 1));
            for i in wave {
                let s = &self.steps[*i];
                let after = if s.depends_on.is_empty() {
                    "starts at once".to_string()
                } else {
                    format!("after {}", s.depends_on.join(", "))
                };
                out.push_str(&format!("  {:<5} {}  ({after})\n", s.kind, s.id));
            }
        }
        out
    }

    /// The plan in Graphviz DOT.
    pub fn to_dot(&self) -> String {
        let mut out = String::from("digraph plan {\n  rankdir=LR;\n  node [shape=box];\n");
        for s in &self.steps {
            out.push_str(&format!("  {} [label=\"{}\\n{}\"];\n", quote_dot(&s.id), escape_dot(&s.id), s.kind));
        }
        for s in &self.steps {
            for d in &s.depends_on {
                out.push_str(&format!("  {} -> {};\n", quote_dot(d), quote_dot(&s.id)));
            }
        }
        out.push_str("}\n");
        out
    }

    /// The plan as a Mermaid flowchart. Node names are positional because ids may hold characters
    /// Mermaid does not accept in names.
    pub fn to_mermaid(&self) -> String {
        let mut out = String::from("flowchart LR\n");
        for (i, s) in self.steps.iter().enumerate() {
            out.push_str(&format!("  s{i}[\"{}<br/>{}\"]\n", s.id.replace('"', "#quot;"), s.kind));
        }
        for i in 0..self.steps.len() {
            for d in self.dependencies(i) {
                out.push_str(&format!("  s{d} --> s{i}\n"));
            }
        }
        out
    }

    /// Warns about ACR's parallel-build trap: after several `when: ["-"]` steps in a row, a step
    /// without `when` waits only for the last of them, not for all.
    pub fn lint(&self, task: &TaskFile) -> Vec<Diagnostic> {
        let mut out = Vec::new();
        for (i, step) in task.steps.iter().enumerate() {
            if step.when != When::Previous || i < 2 {
                continue;
            }
            let run: Vec<&str> = task.steps[..i]
                .iter()
                .rev()
                .take_while(|s| s.when == When::Immediately)
                .map(|s| s.id.as_str())
                .collect();
            if run.len() < 2 {
                continue;
            }
            let last = run[0];
            let others: Vec<&str> = run[1..].iter().rev().copied().collect();
            let all: Vec<&str> = others.iter().copied().chain([last]).collect();
            out.push(
                Diagnostic::warning(
                    "parallel-trap",
                    format!(
                        "step `{}` has no `when`, so it waits only for `{last}`, not for {} started in parallel with it",
                        step.id,
                        others.iter().map(|o| format!("`{o}`")).collect::<Vec<_>>().join(", ")
                    ),
                )
                .at(Pos::new(step.line, 0))
                .help(format!("if it should wait for all of them, add `when: [{}]`", all.join(", "))),
            );
        }
        out
    }
}

fn escape_dot(s: &str) -> String {
    s.replace('\\', "\\\\").replace('"', "\\\"")
}

fn quote_dot(s: &str) -> String {
    format!("\"{}\"", escape_dot(s))
}
