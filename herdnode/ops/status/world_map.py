#!/usr/bin/env python3
"""Turns world-atlas's TopoJSON into the status page's world map, at build
time: SVG path data for the land and the borders between countries, in an
equirectangular projection (x = longitude + 180, y = 90 - latitude, so the
map's viewBox is 0 0 360 180 and a client's dot needs no projection code).

Usage: world_map.py TOPOJSON OUT_JSON
Writes {"width", "height", "land", "borders", "source"} to OUT_JSON.

The TopoJSON is in spherical coordinates (decimal degrees): rings that cross
the antimeridian are unwrapped into one continuous ring and drawn once more
shifted by 360 degrees (the viewBox clips what lies outside), and a ring
around a pole (Antarctica) is closed along the map's edge.
"""

import json
import os
import sys

SOURCE = ("Natural Earth 1:110m (public domain), from the npm package "
          "world-atlas 2.0.2")
# One decimal of a degree is about 11 km: finer than a pixel of the page.
DECIMALS = 1


def decode_arcs(topology):
    """Every arc as a list of (longitude, latitude) in degrees."""
    transform = topology.get("transform")
    arcs = []
    for arc in topology["arcs"]:
        points = []
        x = y = 0
        for position in arc:
            if transform:
                # Quantized and delta-encoded (TopoJSON specification 2.1.3).
                x += position[0]
                y += position[1]
                points.append(
                    (x * transform["scale"][0] + transform["translate"][0],
                     y * transform["scale"][1] + transform["translate"][1]))
            else:
                points.append((position[0], position[1]))
        arcs.append(points)
    return arcs


def arc_points(arcs, index):
    """Arc index's points; a negative index (~i) is arc i reversed."""
    return arcs[index] if index >= 0 else arcs[~index][::-1]


def ring_points(arcs, indexes):
    """The ring made of the arcs, without the point each arc repeats."""
    points = []
    for index in indexes:
        part = arc_points(arcs, index)
        points.extend(part if not points else part[1:])
    return points


def polygons(geometry):
    """A Polygon's or MultiPolygon's rings, as lists of arc indexes."""
    if geometry["type"] == "Polygon":
        return [geometry["arcs"]]
    if geometry["type"] == "MultiPolygon":
        return geometry["arcs"]
    return []


def unwrap(points):
    """The same points with longitudes made continuous (no jump of more than
    180 degrees between neighbours), so a line across the antimeridian is
    not drawn the long way round the map."""
    out = []
    shift = 0.0
    for lon, lat in points:
        if out:
            previous = out[-1][0] - shift
            if lon - previous > 180:
                shift -= 360
            elif previous - lon > 180:
                shift += 360
        out.append((lon + shift, lat))
    return out


def close_around_pole(points):
    """A ring that went once around a pole ends 360 degrees from where it
    began: close it along that pole's edge of the map so it fills."""
    if len(points) < 2 or abs(points[-1][0] - points[0][0]) < 180:
        return points
    pole = -90.0 if sum(lat for _, lat in points) < 0 else 90.0
    return points + [(points[-1][0], pole), (points[0][0], pole)]


def shifted_copies(points):
    """The points, plus a copy shifted by -360 or +360 where part of them
    lies beyond the antimeridian."""
    lons = [lon for lon, _ in points]
    copies = []
    for offset in (-360.0, 0.0, 360.0):
        if min(lons) + offset < 180 and max(lons) + offset > -180:
            copies.append([(lon + offset, lat) for lon, lat in points])
    return copies


def path_data(points, closed):
    """SVG path data for one ring or line, projected and rounded."""
    text = []
    last = None
    for lon, lat in points:
        xy = (round(lon + 180, DECIMALS), round(90 - lat, DECIMALS))
        if xy == last:
            continue
        text.append(f"{xy[0]:g},{xy[1]:g}")
        last = xy
    if len(text) < 2:
        return ""
    return "M" + " ".join(text) + ("Z" if closed else "")


def land_path(topology, arcs):
    parts = []
    for geometry in topology["objects"]["land"]["geometries"]:
        for polygon in polygons(geometry):
            for ring in polygon:
                points = close_around_pole(unwrap(ring_points(arcs, ring)))
                for copy in shifted_copies(points):
                    parts.append(path_data(copy, closed=True))
    return "".join(parts)


def borders_path(topology, arcs):
    """Arcs shared by two countries: the land borders (coasts are arcs of one
    country only, and the land's fill already shows them)."""
    users = {}
    for number, geometry in enumerate(
            topology["objects"]["countries"]["geometries"]):
        for polygon in polygons(geometry):
            for ring in polygon:
                for index in ring:
                    users.setdefault(index if index >= 0 else ~index,
                                     set()).add(number)
    parts = []
    for index in sorted(users):
        if len(users[index]) < 2:
            continue
        for copy in shifted_copies(unwrap(arcs[index])):
            parts.append(path_data(copy, closed=False))
    return "".join(parts)


def main(argv):
    if len(argv) != 3:
        sys.exit("usage: world_map.py TOPOJSON OUT_JSON")
    with open(argv[1], encoding="utf-8") as source:
        topology = json.load(source)
    if topology.get("type") != "Topology" or not {
            "land", "countries"} <= set(topology.get("objects", {})):
        sys.exit(f"world_map.py: {argv[1]} is not a world-atlas countries "
                 "topology (objects 'land' and 'countries')")
    arcs = decode_arcs(topology)
    world = {
        "width": 360,
        "height": 180,
        "land": land_path(topology, arcs),
        "borders": borders_path(topology, arcs),
        "source": SOURCE,
    }
    if not world["land"]:
        sys.exit(f"world_map.py: no land in {argv[1]}")
    # Through a temporary name, so an interrupted run leaves no half file.
    temporary = argv[2] + ".tmp"
    with open(temporary, "w", encoding="utf-8") as out:
        json.dump(world, out, separators=(",", ":"))
    os.replace(temporary, argv[2])


if __name__ == "__main__":
    main(sys.argv)
