"""JUnit XML, for CI servers: one test suite per protocol, one test case per case run."""

from __future__ import annotations

import re
from pathlib import Path

from lxml import etree

from conformance.results import Report, Status

_NOT_XML = re.compile("[^\t\n\r\x20-\ud7ff\ue000-\ufffd\U00010000-\U0010ffff]")


def safe(text: str) -> str:
    """``text`` without the characters XML 1.0 cannot carry."""
    return _NOT_XML.sub("\ufffd", text)


def document(report: Report) -> bytes:
    """The JUnit XML of ``report``."""
    root = etree.Element("testsuites", name=f"conformance of {report.url}")
    for protocol in report.protocols:
        results = [r for r in report.results if r.protocol == protocol]
        suite = etree.SubElement(
            root,
            "testsuite",
            name=protocol,
            tests=str(len(results)),
            failures=str(sum(r.status is Status.FAIL for r in results)),
            errors=str(sum(r.status is Status.ERROR for r in results)),
            skipped=str(sum(r.status is Status.SKIP for r in results)),
            time=f"{sum(r.duration for r in results):.3f}",
            timestamp=report.started,
        )
        for result in results:
            test = etree.SubElement(
                suite,
                "testcase",
                classname=f"{protocol}.{result.rendering or 'any'}",
                name=f"{result.case_id} [{result.level.value}] {' '.join(result.requirements)}",
                time=f"{result.duration:.3f}",
            )
            if result.status is Status.SKIP:
                etree.SubElement(test, "skipped", message=safe(result.message))
            elif result.status in (Status.FAIL, Status.ERROR):
                tag = "failure" if result.status is Status.FAIL else "error"
                element = etree.SubElement(
                    test, tag, message=safe(result.message), type=result.level.value
                )
                element.text = safe("\n\n".join(e.as_text() for e in result.evidence))
    return etree.tostring(root, xml_declaration=True, encoding="UTF-8", pretty_print=True)


def write(report: Report, path: Path) -> None:
    """Write the JUnit XML report to ``path``."""
    path.write_bytes(document(report))
