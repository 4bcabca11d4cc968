#!/usr/bin/env python3
"""Draws the demo catalog's product pictures: one SVG per (kind, colour) pair.

The files are committed under public/demo/; run this again only to change the drawings.
The kinds and colours must match app/src/catalog/demo.rs.
"""
import pathlib

COLOURS = {
    "black": "#26262b", "white": "#f3f2ee", "navy": "#22304f", "forest": "#2f5d3a",
    "sand": "#d9c4a1", "rust": "#b5532c", "sky": "#8fb8de", "rose": "#e3a3b2",
    "charcoal": "#4a4a50", "mustard": "#d9a32b", "olive": "#6f6d3b", "cream": "#efe6cf",
    "slate": "#6a7b8c", "terracotta": "#c46a4a", "sage": "#9cae8f",
}

SHAPES = {
    "tee": '<path d="M200 120 L140 140 L70 220 L130 270 L170 240 L170 500 L430 500 L430 240 L470 270 L530 220 L460 140 L400 120 Q300 190 200 120 Z"/>',
    "hoodie": '<path d="M210 130 L140 150 L80 420 L140 430 L175 260 L175 500 L425 500 L425 260 L460 430 L520 420 L460 150 L390 130 Q300 60 210 130 Z"/><path d="M240 140 Q300 230 360 140" fill="none" stroke="#0003" stroke-width="10"/>',
    "sweater": '<path d="M205 125 L140 145 L80 430 L140 440 L175 260 L175 500 L425 500 L425 260 L460 440 L520 430 L460 145 L395 125 Q300 175 205 125 Z"/><rect x="175" y="470" width="250" height="30" fill="#0002"/>',
    "cap": '<path d="M150 360 Q150 180 300 180 Q450 180 450 360 Z"/><path d="M140 360 L520 360 Q540 400 470 405 L140 390 Z" fill="#0003"/><circle cx="300" cy="182" r="12" fill="#0004"/>',
    "beanie": '<path d="M160 390 Q160 160 300 160 Q440 160 440 390 Z"/><rect x="150" y="370" width="300" height="70" rx="12" fill="#0002"/><circle cx="300" cy="150" r="34"/>',
    "tote": '<path d="M230 230 Q230 120 300 120 Q370 120 370 230" fill="none" stroke="#0005" stroke-width="16"/><path d="M170 220 L430 220 L450 500 L150 500 Z"/>',
    "backpack": '<rect x="180" y="150" width="240" height="340" rx="60"/><rect x="220" y="330" width="160" height="120" rx="20" fill="#0002"/><path d="M250 150 Q300 90 350 150" fill="none" stroke="#0005" stroke-width="14"/>',
    "mug": '<rect x="170" y="190" width="210" height="260" rx="18"/><path d="M380 250 Q470 250 470 320 Q470 390 380 390" fill="none" stroke="#0004" stroke-width="26"/><path d="M380 250 Q470 250 470 320 Q470 390 380 390" fill="none" stroke-width="14"/>',
    "bottle": '<rect x="245" y="110" width="110" height="50" rx="10" fill="#0004"/><rect x="220" y="160" width="160" height="340" rx="50"/>',
    "notebook": '<rect x="180" y="120" width="250" height="360" rx="14"/><rect x="180" y="120" width="36" height="360" rx="8" fill="#0002"/><rect x="380" y="120" width="16" height="360" fill="#0003"/>',
    "poster": '<rect x="160" y="100" width="280" height="400" fill="#fff" stroke="#0004" stroke-width="14"/><path d="M180 440 L260 300 L310 370 L350 320 L420 440 Z"/><circle cx="370" cy="200" r="30"/>',
    "socks": '<path d="M240 110 L340 110 L340 360 Q340 420 420 430 Q470 440 460 480 Q450 510 400 505 L280 490 Q240 480 240 430 Z"/><rect x="240" y="110" width="100" height="40" fill="#0002"/>',
    "scarf": '<path d="M210 110 L300 110 L300 420 L210 420 Z"/><path d="M300 110 L390 150 L380 460 L300 420 Z" fill-opacity="0.8"/><path d="M210 420 v40 M230 420 v40 M250 420 v40 M270 420 v40 M290 420 v40" stroke="#0005" stroke-width="6"/>',
    "candle": '<rect x="200" y="230" width="200" height="260" rx="20"/><rect x="200" y="300" width="200" height="90" fill="#fff8"/><path d="M300 150 Q330 190 300 215 Q270 190 300 150 Z" fill="#f2b134"/>',
    "pot": '<path d="M220 300 L380 300 L360 490 L240 490 Z"/><rect x="205" y="280" width="190" height="40" rx="8" fill="#0002"/><path d="M300 290 Q230 200 260 130 Q300 200 300 290 Q320 180 380 150 Q360 240 300 290" fill="#4f7a45"/>',
}

def svg(shape: str, colour: str) -> str:
    # A light tint of the colour as background keeps white and cream items visible.
    return (
        '<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 600 600" width="600" height="600">'
        '<rect width="600" height="600" fill="#ecebe7"/>'
        f'<g fill="{colour}" stroke="#0003" stroke-width="3" stroke-linejoin="round">{shape}</g>'
        '</svg>\n'
    )

def main() -> None:
    out = pathlib.Path(__file__).resolve().parent.parent / "public" / "demo"
    out.mkdir(parents=True, exist_ok=True)
    for kind, shape in SHAPES.items():
        for name, hexcode in COLOURS.items():
            (out / f"{kind}-{name}.svg").write_text(svg(shape, hexcode))

if __name__ == "__main__":
    main()
