//! Reports of what the collector cannot serve in time ([`crate::Limits`]), one
//! per place, with the reason and the measurement behind it.

use super::super::Rule;
use super::Parser;

impl Parser<'_> {
    pub(super) fn too_long(&mut self, line: usize, bytes: usize) {
        let limit = self.limits.line_bytes;
        self.report(line, Rule::LineLength, || {
            format!("line of {bytes} bytes, more than {limit}: a runaway HELP text or label value; node_exporter holds every line in memory on every scrape")
        });
    }

    pub(super) fn too_many_families(&mut self, line: usize) {
        if self.families_over {
            return;
        }
        self.families_over = true;
        let limit = self.limits.families;
        self.report(line, Rule::FamilyCount, || {
            format!("more than {limit} metric families: node_exporter's work grows with the families of a file far more than with its series (100,000 families took 7.9 s to scrape, 100,000 series of one family 1.5 s); lines naming further families are not checked")
        });
    }

    pub(super) fn too_many_names(&mut self, index: usize, line: usize) {
        let (name, limit) = (self.families[index].name, self.limits.family_labels);
        self.report(line, Rule::FamilyLabels, || {
            format!("{name} uses more than {limit} label names across its series: node_exporter gives every series of a family all of its label names, so its work grows with series x names (10,000 series over 1,000 names took over 100 s to scrape); give the series of a family the same label names")
        });
    }
}
