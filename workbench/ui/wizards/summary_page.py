"""The wizard's last page: what will be created, and every extension the profile writes, explained in words."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from html import escape

from PySide6.QtWidgets import QLabel, QProgressBar, QTextBrowser, QVBoxLayout, QWizard, QWizardPage

from workbench.errors import WorkbenchError
from workbench.ui.errors import run_action

from .form_kit import problem_label, show_problem


@dataclass
class Plan:
    """What the summary shows: labelled facts, and (name, critical, value, meaning) per extension."""

    facts: list[tuple[str, str]] = field(default_factory=list)
    extensions: list[tuple[str, bool, str, str]] = field(default_factory=list)


def plan_html(plan: Plan) -> str:
    """The summary as HTML tables (also what tests read)."""
    facts = "".join(f"<tr><td style='padding:2px 12px 2px 0'><b>{escape(k)}</b></td><td>{escape(v)}</td></tr>"
                    for k, v in plan.facts)
    rows = "".join(
        f"<tr><td style='padding:3px 8px 3px 0'><b>{escape(name)}</b></td>"
        f"<td style='padding:3px 8px'>{'critical' if critical else '—'}</td>"
        f"<td style='padding:3px 8px'><code>{escape(value)}</code></td>"
        f"<td style='padding:3px 0 3px 8px'>{escape(meaning)}</td></tr>"
        for name, critical, value, meaning in plan.extensions)
    header = ("<tr><th align='left'>Extension</th><th align='left'>Critical</th><th align='left'>Value</th>"
              "<th align='left'>Meaning</th></tr>")
    return (f"<h3>What will be created</h3><table>{facts}</table>"
            f"<h3>Extensions written</h3><table cellspacing='0'>{header}{rows}</table>")


class SummaryPage(QWizardPage):
    """Shows the plan; while the key is generated a busy bar runs and the window stays responsive."""

    def __init__(self, plan: Callable[[], Plan]) -> None:
        super().__init__()
        self._plan = plan
        self.setTitle("Summary")
        self.setSubTitle("Check what will be written, then press Finish to generate the key and sign.")
        layout = QVBoxLayout(self)
        self.view = QTextBrowser()
        self.view.setObjectName("summary")
        self.view.setOpenLinks(False)
        layout.addWidget(self.view, 1)
        self.busy = QProgressBar()
        self.busy.setObjectName("busy")
        self.busy.setRange(0, 0)  # indeterminate: key generation reports no progress
        self.busy.setTextVisible(False)
        self.busy.hide()
        self.busy_text = QLabel("Generating the key and signing… the window stays usable.")
        self.busy_text.hide()
        layout.addWidget(self.busy_text)
        layout.addWidget(self.busy)
        self.problem = problem_label("summary_problem")
        layout.addWidget(self.problem)
        self.plan = Plan()

    def initializePage(self) -> None:
        """Rebuild the plan from the pages before; the header names the button as the wizard labels it."""
        wizard = self.wizard()
        button = wizard.buttonText(QWizard.WizardButton.FinishButton).replace("&", "") if wizard else "Finish"
        doing = "to sign the request" if button == "Sign" else "to generate the key and sign"
        self.setSubTitle(f"Check what will be written, then press {button} {doing}.")
        show_problem(self.problem, None)
        self.plan = run_action(self, self._plan, self.problem) or Plan()
        self.view.setHtml(plan_html(self.plan))

    def set_busy(self, busy: bool) -> None:
        """Show or hide the busy bar."""
        self.busy.setVisible(busy)
        self.busy_text.setVisible(busy)

    def show_error(self, error: WorkbenchError | None) -> None:
        """A failed run's message (summary and causes, never a traceback)."""
        show_problem(self.problem, error)
