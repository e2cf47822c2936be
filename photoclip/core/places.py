"""GPS position -> the nearest town, its region and country, offline.

The reverse_geocoder package's bundled GeoNames table (towns of 1,000 people and more) in a k-d
tree, built once per process on first use (about half a second), then looked up in batches.
Country names come from pycountry (ISO 3166). A position far from every town (at sea, in the
desert) gets the country alone when the town is still in it, else no place.
"""

from __future__ import annotations

import logging
import math
import threading
from typing import Optional, Sequence

log = logging.getLogger("photoclip.places")

#: farther than this from the nearest town, the town is not named
NEAR_KM = 50.0
#: farther than this, not even its country
FAR_KM = 300.0

_lock = threading.Lock()
_geocoder = None


def _lookup():
    global _geocoder
    with _lock:
        if _geocoder is None:
            import reverse_geocoder
            _geocoder = reverse_geocoder.RGeocoder(mode=1, verbose=False)  # one process: no worker pool
        return _geocoder


def country_name(code: str) -> str:
    try:
        import pycountry
        country = pycountry.countries.get(alpha_2=code)
    except (ImportError, KeyError, LookupError):
        country = None
    if country is None:
        return code
    name = getattr(country, "common_name", None) or country.name
    if ", " in name:  # "Korea, Republic of" -> "Republic of Korea": a place's last part is its country
        first, rest = name.split(", ", 1)
        name = f"{rest} {first}"
    return name


def _distance_km(lat1: float, lon1: float, lat2: float, lon2: float) -> float:
    p1, p2 = math.radians(lat1), math.radians(lat2)
    dp, dl = p2 - p1, math.radians(lon2 - lon1)
    a = math.sin(dp / 2) ** 2 + math.cos(p1) * math.cos(p2) * math.sin(dl / 2) ** 2
    return 2 * 6371.0 * math.asin(min(1.0, math.sqrt(a)))


def place_names(positions: Sequence[tuple[float, float]]) -> list[str]:
    """For each (latitude, longitude): "Lisbon, Portugal", "Sintra, Lisbon, Portugal" (town, region
    when it is not the town's own name, country), "Portugal" far from towns, "" far from land."""
    if not positions:
        return []
    found = _lookup().query([(float(lat), float(lon)) for lat, lon in positions])
    names = []
    for (lat, lon), hit in zip(positions, found):
        km = _distance_km(lat, lon, float(hit["lat"]), float(hit["lon"]))
        country = country_name(hit.get("cc", ""))
        if km > FAR_KM:
            names.append("")
        elif km > NEAR_KM:
            names.append(country)
        else:
            parts = [hit.get("name", "")]
            region = hit.get("admin1", "")
            if region and region != parts[0]:
                parts.append(region)
            parts.append(country)
            names.append(", ".join(p for p in parts if p))
    return names


def place_name(lat: float, lon: float) -> Optional[str]:
    return place_names([(lat, lon)])[0] or None
