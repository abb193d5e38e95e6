"""The bulletin's figures: 200 m maps and 7-day sparklines, as inline SVG (no file, no network).

A map is an SVG holding the 200 m cell values as an embedded PNG (one pixel per INSPIRE cell,
EPSG:3035, north up, drawn without smoothing), the arrondissement outlines and labels, and
optionally sensitive facilities as points. Colours follow a continuous ramp whose stops are the
thresholds of the register given by the caller (methods.md §1.1, §3): blue to green well below
the first threshold, yellow at it, orange to red above the next ones. The PNG is written with
``zlib`` (no imaging library). Every text is escaped by the caller's ``escape``.
"""

from __future__ import annotations

import base64
import hashlib
import re
import struct
import zlib
from collections.abc import Callable

import numpy as np
import pandas as pd
import shapely

CELL_M = 200.0
CELL_ID = re.compile(r"N(\d+)E(\d+)$")
NO_DATA = (208, 208, 208)
# Ramp stops as fractions of the first threshold below it, then one colour per threshold and one beyond.
BELOW = ((0.0, (44, 123, 182)), (0.5, (120, 190, 160)), (0.85, (200, 230, 140)))
AT_BOUNDS = ((255, 230, 120), (245, 150, 70), (215, 40, 40))
BEYOND = (120, 20, 60)
SIMPLIFY_M = 10.0
PAD = 14  # SVG margin [px] so that no label or point is clipped


def cell_corners(cell_ids: pd.Series) -> tuple[np.ndarray, np.ndarray]:
    """South-west corners (x, y) [m, EPSG:3035] of INSPIRE ids ``CRS3035RES200mN<y>E<x>``."""
    parts = cell_ids.astype(str).str.extract(CELL_ID)
    return parts[1].astype(float).to_numpy(), parts[0].astype(float).to_numpy()


def ramp(values: np.ndarray, bounds: list[float]) -> np.ndarray:
    """RGB colours (uint8, shape (n, 3)) of ``values`` on the ramp anchored at the sorted ``bounds``."""
    first = bounds[0]
    stops = [first * f for f, _ in BELOW] + list(bounds)
    colours = [c for _, c in BELOW] + list(AT_BOUNDS[:len(bounds) - 1]) + [AT_BOUNDS[-1]]
    stops.append(bounds[-1] * 1.5 if len(bounds) > 1 else first * 2)
    colours.append(BEYOND)
    out = np.empty((len(values), 3), dtype=np.uint8)
    for channel in range(3):
        out[:, channel] = np.round(np.interp(values, stops, [c[channel] for c in colours]))
    out[np.isnan(values)] = NO_DATA
    return out


def png(rgba: np.ndarray) -> bytes:
    """PNG file bytes of an RGBA image (uint8, shape (height, width, 4))."""
    height, width = rgba.shape[:2]
    raw = b"".join(b"\x00" + rgba[row].tobytes() for row in range(height))

    def chunk(kind: bytes, data: bytes) -> bytes:
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data) & 0xFFFFFFFF)

    header = struct.pack(">IIBBBBB", width, height, 8, 6, 0, 0, 0)
    return b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", header) + chunk(b"IDAT", zlib.compress(raw, 9)) + chunk(b"IEND", b"")


class Frame:
    """The map's extent in EPSG:3035 [m] and its pixel scale, north up."""

    def __init__(self, xmin: float, ymin: float, xmax: float, ymax: float, width: int):
        self.xmin, self.ymin, self.xmax, self.ymax = xmin, ymin, xmax, ymax
        self.scale = (width - 2 * PAD) / max(xmax - xmin, 1.0)
        self.width = width
        self.height = int(np.ceil((ymax - ymin) * self.scale)) + 2 * PAD

    def px(self, x):
        """Pixel column of ``x`` [m]."""
        return (np.asarray(x, float) - self.xmin) * self.scale + PAD

    def py(self, y):
        """Pixel row of ``y`` [m]."""
        return (self.ymax - np.asarray(y, float)) * self.scale + PAD


def frame_of(zones: pd.DataFrame, cells: pd.DataFrame, width: int) -> Frame | None:
    """The extent of the zone polygons (EPSG:3035 WKT), else of the cells; ``None`` with neither."""
    if not zones.empty and "geometry_wkt" in zones.columns:
        return Frame(*shapely.total_bounds(shapely.from_wkt(zones["geometry_wkt"].to_numpy())), width)
    if not cells.empty:
        x, y = cell_corners(cells["cell_id"])
        return Frame(x.min(), y.min(), x.max() + CELL_M, y.max() + CELL_M, width)
    return None


def cell_image(frame: Frame, cells: pd.DataFrame, bounds: list[float]) -> str:
    """An SVG ``<image>`` of the cells' ``value_ug_m3`` (a data: URI PNG, one pixel per 200 m cell)."""
    if cells.empty:
        return ""
    return pixel_image(frame, cells["cell_id"], ramp(cells["value_ug_m3"].to_numpy(float), bounds))


def pixel_image(frame: Frame, cell_ids: pd.Series, colours: np.ndarray) -> str:
    """An SVG ``<image>`` painting each cell of ``cell_ids`` with its RGB row of ``colours`` (uint8, (n, 3))."""
    if len(cell_ids) == 0:
        return ""
    x, y = cell_corners(cell_ids)
    x0, y1 = np.floor(frame.xmin / CELL_M) * CELL_M, np.ceil(frame.ymax / CELL_M) * CELL_M
    cols = np.round((x - x0) / CELL_M).astype(int)
    rows = np.round((y1 - y - CELL_M) / CELL_M).astype(int)
    width = int(np.ceil((frame.xmax - x0) / CELL_M))
    height = int(np.ceil((y1 - frame.ymin) / CELL_M))
    keep = (cols >= 0) & (cols < width) & (rows >= 0) & (rows < height)
    image = np.zeros((height, width, 4), dtype=np.uint8)
    image[rows[keep], cols[keep], :3] = np.asarray(colours, dtype=np.uint8)[keep]
    image[rows[keep], cols[keep], 3] = 255
    data = base64.b64encode(png(image)).decode("ascii")
    return (f"<image x=\"{frame.px(x0):.1f}\" y=\"{frame.py(y1):.1f}\" width=\"{width * CELL_M * frame.scale:.1f}\" "
            f"height=\"{height * CELL_M * frame.scale:.1f}\" preserveAspectRatio=\"none\" "
            f"style=\"image-rendering:pixelated\" href=\"data:image/png;base64,{data}\"/>")


def class_legend(colours: list[tuple[int, int, int]], names: list[str], escape: Callable[[object], str]) -> str:
    """One coloured square and name per class (HTML), for a map painted with :func:`pixel_image`."""
    items = "".join(f"<span style=\"display:inline-block;margin-right:1em\"><span style=\"display:inline-block;"
                    f"width:.9em;height:.9em;border:1px solid #555;vertical-align:middle;background:rgb({c[0]},{c[1]},"
                    f"{c[2]})\"></span> {escape(name)}</span>" for c, name in zip(colours, names, strict=True))
    return f"<p class=\"legend-names\">{items}</p>"


def zone_outlines(frame: Frame, zones: pd.DataFrame, escape: Callable[[object], str], *, fills: list[str] | None = None,
                  tips: list[str] | None = None, labels: bool = True) -> str:
    """One SVG path per zone polygon (EPSG:3035 WKT), filled with ``fills`` or outlined, and its label."""
    if zones.empty or "geometry_wkt" not in zones.columns:
        return ""
    geoms = shapely.simplify(shapely.from_wkt(zones["geometry_wkt"].to_numpy()), SIMPLIFY_M)
    parts, part_zone = shapely.get_parts(geoms, return_index=True)
    rings, ring_part = shapely.get_rings(parts, return_index=True)
    coords, point_ring = shapely.get_coordinates(rings, return_index=True)
    px, py = np.round(frame.px(coords[:, 0]), 1), np.round(frame.py(coords[:, 1]), 1)
    points = pd.DataFrame({"zone": part_zone[ring_part[point_ring]], "ring": point_ring,
                           "xy": pd.Series(px).astype(str) + "," + pd.Series(py).astype(str)})
    rings_d = points.groupby(["zone", "ring"], sort=True)["xy"].agg(lambda s: "M" + " L".join(s) + " Z")
    paths = rings_d.groupby(level="zone").agg(" ".join)
    short = [short_label(z, lab) for z, lab in zip(zones["zone_id"].astype(str),
                                                   zones.get("zone_label", zones["zone_id"]).astype(str), strict=True)]
    anchor = shapely.point_on_surface(geoms)
    lx, ly = frame.px(shapely.get_x(anchor)), frame.py(shapely.get_y(anchor))
    body = []
    for i in range(len(zones)):
        fill = fills[i] if fills else "none"
        tip = f"<title>{escape(tips[i])}</title>" if tips else ""
        body.append(f"<path d=\"{paths.get(i, '')}\" fill=\"{fill}\" stroke=\"#333\" stroke-width=\"0.8\" "
                    f"fill-rule=\"evenodd\">{tip}</path>")
    if labels:
        body += [f"<text x=\"{lx[i]:.1f}\" y=\"{ly[i]:.1f}\" text-anchor=\"middle\" class=\"halo\">"
                 f"{escape(short[i])}</text>" for i in range(len(zones))]
    return "".join(body)


def short_label(zone_id: str, label: str) -> str:
    """``1er``, ``2e`` … for a Paris arrondissement (INSEE 751NN), else ``label``."""
    match = re.fullmatch(r"751(\d\d)", zone_id)
    if not match:
        return label
    number = int(match.group(1))
    return f"{number}{'er' if number == 1 else 'e'}"


def facility_points(frame: Frame, x: np.ndarray, y: np.ndarray, tips: list[str],
                    escape: Callable[[object], str]) -> str:
    """Facilities as numbered circles at (x, y) [m, EPSG:3035], each with its tooltip."""
    return "".join(f"<g class=\"facility\"><circle cx=\"{frame.px(x[i]):.1f}\" cy=\"{frame.py(y[i]):.1f}\" r=\"3.5\" "
                   f"fill=\"#fff\" stroke=\"#000\" stroke-width=\"1.2\"/><title>{escape(tips[i])}</title></g>"
                   for i in range(len(tips)))


def svg(frame: Frame, body: str, label: str, escape: Callable[[object], str]) -> str:
    """The map's SVG element around ``body``."""
    return (f"<svg role=\"img\" aria-label=\"{escape(label)}\" width=\"{frame.width}\" height=\"{frame.height}\" "
            f"viewBox=\"0 0 {frame.width} {frame.height}\">{body}</svg>")


def ramp_legend(bounds: list[tuple[float, str]], unit: str, top: float, escape: Callable[[object], str],
                number: Callable[[float], str], width: int = 420) -> str:
    """A gradient bar from 0 to ``top`` with a numbered tick at each threshold (SVG), their names below (HTML)."""
    values = np.linspace(0.0, top, 64)
    colours = ramp(values, [b for b, _ in bounds])
    stops = "".join(f"<stop offset=\"{i / 63:.3f}\" stop-color=\"rgb({c[0]},{c[1]},{c[2]})\"/>"
                    for i, c in enumerate(colours))
    gid = "g" + hashlib.sha256(repr((bounds, top)).encode()).hexdigest()[:10]
    span = width - 40
    ticks = "".join(f"<line x1=\"{20 + span * v / top:.1f}\" x2=\"{20 + span * v / top:.1f}\" y1=\"14\" y2=\"34\" "
                    f"stroke=\"#000\"/><text x=\"{20 + span * v / top:.1f}\" y=\"46\" text-anchor=\"middle\">"
                    f"{escape(number(v))}</text>" for v, _ in bounds)
    names = " ; ".join(f"{number(v)} : {text}" for v, text in bounds)
    return (f"<svg class=\"legend\" width=\"{width}\" height=\"50\" viewBox=\"0 0 {width} 50\" role=\"img\" "
            f"aria-label=\"{escape('Légende, ' + unit)}\"><defs><linearGradient id=\"{gid}\">{stops}</linearGradient>"
            f"</defs><rect x=\"20\" y=\"18\" width=\"{span}\" height=\"12\" fill=\"url(#{gid})\" "
            f"stroke=\"#555\"/><text x=\"20\" y=\"12\">0</text><text x=\"{20 + span}\" y=\"12\" "
            f"text-anchor=\"end\">{escape(number(top))} {escape(unit)}</text>{ticks}</svg>"
            f"<p class=\"muted legend-names\">{escape(unit)} : {escape(names)}</p>")


def sparkline(values: np.ndarray, top: float, reference: float | None, width: int = 96, height: int = 26) -> str:
    """A small line of ``values`` (one per day, NaN for a gap) on 0 … ``top``, a dashed ``reference`` line."""
    n = len(values)
    xs = 3 + (width - 6) * np.arange(n) / max(n - 1, 1)
    ys = height - 3 - (height - 6) * np.clip(np.asarray(values, float) / max(top, 1e-9), 0, 1)
    segments, current = [], []
    for x, y in zip(xs, ys, strict=True):
        if np.isnan(y):
            segments, current = segments + ([current] if current else []), []
        else:
            current.append(f"{x:.1f},{y:.1f}")
    segments += [current] if current else []
    lines = "".join(f"<polyline points=\"{' '.join(s)}\" fill=\"none\" stroke=\"#1f4e79\" stroke-width=\"1.5\"/>"
                    for s in segments)
    ref = ""
    if reference is not None and reference <= top:
        ry = height - 3 - (height - 6) * reference / top
        ref = (f"<line x1=\"0\" x2=\"{width}\" y1=\"{ry:.1f}\" y2=\"{ry:.1f}\" stroke=\"#c8323c\" "
               "stroke-dasharray=\"3,2\" stroke-width=\"1\"/>")
    last = "" if np.isnan(ys[-1]) else f"<circle cx=\"{xs[-1]:.1f}\" cy=\"{ys[-1]:.1f}\" r=\"2.2\" fill=\"#1f4e79\"/>"
    return (f"<svg class=\"spark\" width=\"{width}\" height=\"{height}\" viewBox=\"0 0 {width} {height}\" "
            f"aria-hidden=\"true\">{ref}{lines}{last}</svg>")
