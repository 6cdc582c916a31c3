"""The organization's catalog in DCAT-AP_IT, built as an RDF graph (rdflib), sent as JSON-LD.

Every resource carries both its DCAT class and its DCAT-AP_IT one (`dcat:Dataset` and
`dcatapit:Dataset`…), as the Italian profile's validators expect. The publisher and
rights holder is the organization as a `dcatapit:Agent` identified by its IPA code
(`dct:identifier`); dataset identifiers are `<IPA code>:<dataset>` (the profile's form),
or `<organization slug>:<dataset>` until the IPA code is set. Each dataset has one
CSV and one JSON Lines distribution, both under CC BY 4.0.
"""

import json
from dataclasses import dataclass
from datetime import date
from typing import Any

from rdflib import RDF, XSD, BNode, Graph, Literal, Namespace, URIRef
from rdflib.namespace import DCAT, DCTERMS, FOAF

from app.models.organizations import Organization
from app.services.open_data.datasets import DATASETS, FREQUENCIES, THEMES, Dataset

DCATAPIT = Namespace("http://dati.gov.it/onto/dcatapit#")
VCARD = Namespace("http://www.w3.org/2006/vcard/ns#")
FILE_TYPES = "http://publications.europa.eu/resource/authority/file-type/"
LANGUAGES = "http://publications.europa.eu/resource/authority/language/"
LICENSE = URIRef("http://publications.europa.eu/resource/authority/licence/CC_BY_4_0")
LICENSE_NAME = "Creative Commons Attribuzione 4.0 Internazionale (CC BY 4.0)"
ATTRIBUTION = URIRef("http://purl.org/adms/licencetype/Attribution")
CSV_MEDIA_TYPE = URIRef("https://www.iana.org/assignments/media-types/text/csv")
# The JSON-LD context the document is compacted with (prefixes of the terms used).
CONTEXT: dict[str, Any] = {
    "dcat": str(DCAT),
    "dcatapit": str(DCATAPIT),
    "dct": str(DCTERMS),
    "foaf": str(FOAF),
    "vcard": str(VCARD),
    "xsd": str(XSD),
}
# (extension, EU file-type code, title)
FORMATS = (("csv", "CSV", "CSV (RFC 4180, UTF-8)"), ("jsonl", "JSON", "JSON Lines (UTF-8)"))


@dataclass(frozen=True)
class CatalogInput:
    org: Organization
    catalog_url: str  # this catalog's own URL; distributions are `<url>/<dataset>.<ext>`
    homepage: str
    modified: date


def _agent(graph: Graph, org: Organization, catalog_url: str) -> URIRef:
    agent = URIRef(f"{catalog_url}#publisher")
    graph.add((agent, RDF.type, FOAF.Agent))
    graph.add((agent, RDF.type, DCATAPIT.Agent))
    graph.add((agent, FOAF.name, Literal(org.name, lang="it")))
    graph.add((agent, DCTERMS.identifier, Literal(org.ipa_code or org.slug)))
    return agent


def _license(graph: Graph) -> URIRef:
    graph.add((LICENSE, RDF.type, DCTERMS.LicenseDocument))
    graph.add((LICENSE, RDF.type, DCATAPIT.LicenseDocument))
    graph.add((LICENSE, DCTERMS.type, ATTRIBUTION))
    graph.add((LICENSE, FOAF.name, Literal(LICENSE_NAME, lang="it")))
    return LICENSE


def _distribution(
    graph: Graph, dataset: Dataset, url: str, ext: str, code: str, title: str
) -> URIRef:
    dist = URIRef(f"{url}/{dataset.slug}.{ext}")
    graph.add((dist, RDF.type, DCAT.Distribution))
    graph.add((dist, RDF.type, DCATAPIT.Distribution))
    graph.add((dist, DCTERMS.title, Literal(f"{dataset.title} — {title}", lang="it")))
    graph.add((dist, DCAT.accessURL, dist))
    graph.add((dist, DCAT.downloadURL, dist))
    graph.add((dist, DCTERMS.format, URIRef(FILE_TYPES + code)))
    if ext == "csv":
        graph.add((dist, DCAT.mediaType, CSV_MEDIA_TYPE))
    graph.add((dist, DCTERMS.license, LICENSE))
    return dist


def _contact(graph: Graph, org: Organization, homepage: str) -> BNode:
    contact = BNode()
    graph.add((contact, RDF.type, VCARD.Organization))
    graph.add((contact, RDF.type, DCATAPIT.Organization))
    graph.add((contact, VCARD.fn, Literal(org.name)))
    graph.add((contact, VCARD.hasURL, URIRef(homepage)))
    return contact


def _dataset(graph: Graph, dataset: Dataset, given: CatalogInput, agent: URIRef) -> URIRef:
    url = given.catalog_url
    node = URIRef(f"{url}#{dataset.slug}")
    graph.add((node, RDF.type, DCAT.Dataset))
    graph.add((node, RDF.type, DCATAPIT.Dataset))
    prefix = given.org.ipa_code or given.org.slug
    graph.add((node, DCTERMS.identifier, Literal(f"{prefix}:{dataset.slug}")))
    graph.add((node, DCTERMS.title, Literal(dataset.title, lang="it")))
    graph.add((node, DCTERMS.description, Literal(dataset.description, lang="it")))
    graph.add((node, DCTERMS.modified, Literal(given.modified, datatype=XSD.date)))
    graph.add((node, DCTERMS.accrualPeriodicity, URIRef(FREQUENCIES + dataset.frequency)))
    graph.add((node, DCTERMS.language, URIRef(LANGUAGES + "ITA")))
    for theme in dataset.themes:
        graph.add((node, DCAT.theme, URIRef(THEMES + theme)))
    for keyword in dataset.keywords:
        graph.add((node, DCAT.keyword, Literal(keyword, lang="it")))
    graph.add((node, DCTERMS.publisher, agent))
    graph.add((node, DCTERMS.rightsHolder, agent))
    graph.add((node, DCAT.contactPoint, _contact(graph, given.org, given.homepage)))
    for ext, code, title in FORMATS:
        graph.add((node, DCAT.distribution, _distribution(graph, dataset, url, ext, code, title)))
    return node


def catalog_graph(given: CatalogInput) -> Graph:
    """The catalog with every dataset of `DATASETS`."""
    graph = Graph()
    for prefix, namespace in CONTEXT.items():
        graph.bind(prefix, Namespace(namespace))
    catalog = URIRef(given.catalog_url)
    graph.add((catalog, RDF.type, DCAT.Catalog))
    graph.add((catalog, RDF.type, DCATAPIT.Catalog))
    graph.add((catalog, DCTERMS.title, Literal(f"Dati aperti — {given.org.name}", lang="it")))
    graph.add(
        (
            catalog,
            DCTERMS.description,
            Literal(
                "I dati aperti della partecipazione: proposte, commenti, incontri, piani e "
                "indicatori, risultati di votazioni, bilanci partecipativi e questionari.",
                lang="it",
            ),
        )
    )
    graph.add((catalog, DCTERMS.modified, Literal(given.modified, datatype=XSD.date)))
    graph.add((catalog, DCTERMS.language, URIRef(LANGUAGES + "ITA")))
    graph.add((catalog, FOAF.homepage, URIRef(given.homepage)))
    agent = _agent(graph, given.org, given.catalog_url)
    graph.add((catalog, DCTERMS.publisher, agent))
    _license(graph)
    for dataset in DATASETS.values():
        graph.add((catalog, DCAT.dataset, _dataset(graph, dataset, given, agent)))
    return graph


def catalog_jsonld(given: CatalogInput) -> bytes:
    """The catalog graph as compact JSON-LD (UTF-8)."""
    text = catalog_graph(given).serialize(format="json-ld", context=CONTEXT, auto_compact=True)
    # rdflib's output, re-dumped so that the bytes are compact and stable.
    return json.dumps(json.loads(text), ensure_ascii=False, sort_keys=True).encode("utf-8")
