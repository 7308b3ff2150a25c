"""PDF/A-3b finishing of one split-out PDF: XMP metadata, document info and the Factur-X XML.

WeasyPrint lays out and embeds fonts and the sRGB output intent PDF/A needs; the batch path
then cuts its output into single documents, so each of those gets its own metadata here, in
agreement between XMP and the document information dictionary as PDF/A requires.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime
from xml.sax.saxutils import escape

import pikepdf

from syncd.render.cii import EN16931, XRECHNUNG

FACTURX_URN = "urn:factur-x:pdfa:CrossIndustryDocument:invoice:1p0#"
CREATOR = "syncd"


@dataclass(frozen=True)
class Embedded:
    """How the XML travels inside the PDF: file name, XMP conformance level, CII guideline."""

    filename: str
    level: str
    guideline: str


EMBEDDED: dict[str, Embedded] = {
    # Factur-X 1.0 / ZUGFeRD 2.x profile EN 16931 ("COMFORT")
    "zugferd": Embedded("factur-x.xml", "EN 16931", EN16931),
    # ZUGFeRD 2.x profile XRECHNUNG: the XRechnung XML inside a PDF/A-3
    "xrechnung": Embedded("xrechnung.xml", "XRECHNUNG", XRECHNUNG),
}
FACTURX_FILENAME = EMBEDDED["zugferd"].filename

_XMP = """<?xpacket begin="\ufeff" id="W5M0MpCehiHzreSzNTczkc9d"?>
<x:xmpmeta xmlns:x="adobe:ns:meta/">
 <rdf:RDF xmlns:rdf="http://www.w3.org/1999/02/22-rdf-syntax-ns#">
  <rdf:Description rdf:about="" xmlns:pdfaid="http://www.aiim.org/pdfa/ns/id/">
   <pdfaid:part>3</pdfaid:part>
   <pdfaid:conformance>B</pdfaid:conformance>
  </rdf:Description>
  <rdf:Description rdf:about="" xmlns:dc="http://purl.org/dc/elements/1.1/">
   <dc:format>application/pdf</dc:format>
   <dc:title><rdf:Alt><rdf:li xml:lang="x-default">{title}</rdf:li></rdf:Alt></dc:title>
   <dc:creator><rdf:Seq><rdf:li>{author}</rdf:li></rdf:Seq></dc:creator>
  </rdf:Description>
  <rdf:Description rdf:about="" xmlns:pdf="http://ns.adobe.com/pdf/1.3/">
   <pdf:Producer>{producer}</pdf:Producer>
  </rdf:Description>
  <rdf:Description rdf:about="" xmlns:xmp="http://ns.adobe.com/xap/1.0/">
   <xmp:CreatorTool>{creator}</xmp:CreatorTool>
   <xmp:CreateDate>{date}</xmp:CreateDate>
   <xmp:ModifyDate>{date}</xmp:ModifyDate>
  </rdf:Description>{facturx}
 </rdf:RDF>
</x:xmpmeta>
<?xpacket end="w"?>"""

_FACTURX_XMP = """
  <rdf:Description rdf:about=""
    xmlns:pdfaExtension="http://www.aiim.org/pdfa/ns/extension/"
    xmlns:pdfaSchema="http://www.aiim.org/pdfa/ns/schema#"
    xmlns:pdfaProperty="http://www.aiim.org/pdfa/ns/property#">
   <pdfaExtension:schemas>
    <rdf:Bag>
     <rdf:li rdf:parseType="Resource">
      <pdfaSchema:schema>Factur-X PDFA Extension Schema</pdfaSchema:schema>
      <pdfaSchema:namespaceURI>{urn}</pdfaSchema:namespaceURI>
      <pdfaSchema:prefix>fx</pdfaSchema:prefix>
      <pdfaSchema:property>
       <rdf:Seq>{properties}
       </rdf:Seq>
      </pdfaSchema:property>
     </rdf:li>
    </rdf:Bag>
   </pdfaExtension:schemas>
  </rdf:Description>
  <rdf:Description rdf:about="" xmlns:fx="{urn}">
   <fx:DocumentType>INVOICE</fx:DocumentType>
   <fx:DocumentFileName>{filename}</fx:DocumentFileName>
   <fx:Version>1.0</fx:Version>
   <fx:ConformanceLevel>{level}</fx:ConformanceLevel>
  </rdf:Description>"""

_PROPERTY = """
        <rdf:li rdf:parseType="Resource">
         <pdfaProperty:name>{name}</pdfaProperty:name>
         <pdfaProperty:valueType>Text</pdfaProperty:valueType>
         <pdfaProperty:category>external</pdfaProperty:category>
         <pdfaProperty:description>{description}</pdfaProperty:description>
        </rdf:li>"""

_FX_PROPERTIES = (
    ("DocumentFileName", "The name of the embedded XML document"),
    ("DocumentType", "The type of the hybrid document in capital letters, e.g. INVOICE"),
    ("Version", "The actual version of the standard applying to the embedded XML document"),
    ("ConformanceLevel", "The conformance level of the embedded XML document"),
)


def xmp_packet(title: str, author: str, producer: str, when: datetime,
               embedded: Embedded | None) -> bytes:
    """The XMP metadata of a PDF/A-3b file, with the Factur-X extension schema if `embedded`."""
    fx = ""
    if embedded is not None:
        props = "".join(_PROPERTY.format(name=n, description=d) for n, d in _FX_PROPERTIES)
        fx = _FACTURX_XMP.format(urn=FACTURX_URN, properties=props,
                                 filename=embedded.filename, level=embedded.level)
    return _XMP.format(
        title=escape(title), author=escape(author), producer=escape(producer),
        creator=CREATOR, date=when.strftime("%Y-%m-%dT%H:%M:%S+00:00"), facturx=fx,
    ).encode("utf-8")


def pdf_date(when: datetime) -> str:
    return when.strftime("D:%Y%m%d%H%M%S+00'00'")


def set_info(pdf: pikepdf.Pdf, title: str, author: str, producer: str, when: datetime) -> None:
    """The document information dictionary, matching the XMP packet field by field."""
    pdf.trailer.Info = pdf.make_indirect(pikepdf.Dictionary(
        Title=pikepdf.String(title),
        Author=pikepdf.String(author),
        Creator=pikepdf.String(CREATOR),
        Producer=pikepdf.String(producer),
        CreationDate=pikepdf.String(pdf_date(when)),
        ModDate=pikepdf.String(pdf_date(when)),
    ))


def make_pdfa(
    pdf: pikepdf.Pdf,
    *,
    title: str,
    author: str,
    producer: str,
    xml: bytes | None,
    when: datetime | None = None,
    profile: Embedded = EMBEDDED["zugferd"],
) -> None:
    """Give `pdf` PDF/A-3b metadata and, when `xml` is given, attach it per `profile`."""
    when = (when or datetime.now(UTC)).astimezone(UTC)
    set_info(pdf, title, author, producer, when)
    stream = pdf.make_stream(
        xmp_packet(title, author, producer, when, profile if xml is not None else None))
    stream.Type = pikepdf.Name.Metadata
    stream.Subtype = pikepdf.Name.XML
    pdf.Root.Metadata = stream
    if xml is None:
        return
    spec = pikepdf.AttachedFileSpec(
        pdf,
        xml,
        description=f"ZUGFeRD/Factur-X invoice ({profile.level})",
        filename=profile.filename,
        mime_type="text/xml",
        creation_date=pdf_date(when),
        mod_date=pdf_date(when),
        relationship=pikepdf.Name.Alternative,
    )
    pdf.attachments[profile.filename] = spec
    pdf.Root.AF = pikepdf.Array([spec.obj])
