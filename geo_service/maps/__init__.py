"""Interactive Folium maps: the territory map, zone maps, embed mode and offline assets.

Builders are pure (results and layers in, a ``folium.Map`` or an HTML string out);
:mod:`geo_service.maps.service` reads a workspace, caches the heavy pieces and the pages,
and is what the CLI and the web routes call.
"""
