/*
 * geo-service maps: layers, legend, search, fullscreen and panels on top of Leaflet.
 *
 * Every string that comes from the data arrives already HTML-escaped by the server (popups,
 * tooltips, labels), or is inserted with textContent; this file never builds HTML from raw data.
 */
(function (window) {
  "use strict";

  var L = window.L;
  var document = window.document;
  var GS = {};

  /*
   * On a narrow screen (a phone, a 420 px frame) the layer control and the legend start folded,
   * so that they cover neither the banner, the search box nor the map.
   */
  var NARROW = !!(window.matchMedia && window.matchMedia("(max-width: 640px)").matches);
  if (NARROW) {
    L.Control.Layers.addInitHook(function () {
      this.options.collapsed = true;
    });
  }
  /* Room kept around an open popup: the header's banner above, the attribution below. */
  var POPUP_TOP = 90;
  var POPUP_BOTTOM = 30;

  /* A popup never taller than the map leaves it room for: it scrolls instead of opening under
     the header (autoPan can then always bring it whole into view). */
  /* `layer`'s popup (server-escaped `html`), panned clear of the header and fitted to the map. */
  function bindFittedPopup(map, layer, html, options) {
    layer.bindPopup(html, L.extend({
      autoPanPaddingTopLeft: [30, POPUP_TOP],
      autoPanPaddingBottomRight: [30, POPUP_BOTTOM]
    }, options));
    layer.on("popupopen", function (event) {
      fitPopup(map, event);
    });
  }

  function fitPopup(map, event) {
    var container = map.getContainer();
    L.DomUtil.addClass(container, "gs-popup-open");
    event.popup.once("remove", function () {
      L.DomUtil.removeClass(container, "gs-popup-open");
    });
    var room = map.getSize().y - POPUP_TOP - POPUP_BOTTOM - 40;
    var popup = event.popup;
    if (popup.options.maxHeight !== Math.max(120, room)) {
      popup.options.maxHeight = Math.max(120, room);
      popup.update();
    }
  }

  function create(tag, className, parent, text) {
    var node = L.DomUtil.create(tag, className || "", parent);
    if (text !== undefined && text !== null) {
      node.textContent = text;
    }
    return node;
  }

  function pane(map, name, zIndex) {
    if (!map.getPane(name)) {
      map.createPane(name).style.zIndex = String(zIndex);
    }
    return name;
  }

  /* One canvas renderer per map for the dense layers (hexagons, plots), below the zones. */
  function denseRenderer(map) {
    if (!map._gsCanvas) {
      map._gsCanvas = L.canvas({ pane: pane(map, "gs-dense", 380), tolerance: 2 });
    }
    return map._gsCanvas;
  }

  function quiet(node) {
    L.DomEvent.disableClickPropagation(node);
    L.DomEvent.disableScrollPropagation(node);
  }

  /* A button titled `title` that folds and unfolds `box` (class gs-collapsed). */
  function foldButton(box, title, collapsed) {
    var toggle = create("button", "gs-legend-toggle", box, title);
    toggle.type = "button";
    toggle.setAttribute("aria-expanded", collapsed ? "false" : "true");
    if (collapsed) {
      L.DomUtil.addClass(box, "gs-collapsed");
    }
    L.DomEvent.on(toggle, "click", function () {
      var folded = L.DomUtil.hasClass(box, "gs-collapsed");
      (folded ? L.DomUtil.removeClass : L.DomUtil.addClass)(box, "gs-collapsed");
      toggle.setAttribute("aria-expanded", folded ? "true" : "false");
    });
  }

  GS.number = function (value, decimals) {
    var d = decimals || 0;
    return Number(value).toLocaleString("fr-FR", {
      minimumFractionDigits: d,
      maximumFractionDigits: d
    });
  };

  GS.percent = function (share) {
    return GS.number(100 * share, 0) + "\u202f%";
  };

  GS.hectares = function (value) {
    return GS.number(value, Math.abs(value) < 1 ? 2 : 1) + "\u202fha";
  };

  GS.escape = function (text) {
    return String(text)
      .replace(/&/g, "&amp;")
      .replace(/</g, "&lt;")
      .replace(/>/g, "&gt;")
      .replace(/"/g, "&quot;")
      .replace(/'/g, "&#x27;");
  };

  /* Lower-case, without accents, HTML-escaped: the server writes its search keys the same way. */
  GS.normalize = function (text) {
    return GS.escape(
      String(text)
        .normalize("NFD")
        .replace(/[\u0300-\u036f]/g, "")
        .toLowerCase()
        .trim()
    );
  };

  function rampColour(value, breaks, colours) {
    var colour = colours[0];
    for (var i = 0; i < breaks.length; i++) {
      if (value >= breaks[i]) {
        colour = colours[i];
      }
    }
    return colour;
  }

  /* Activity zones: one SVG path per zone, styled by status, with tooltip and popup. */
  GS.zones = function (map, data, cfg) {
    var byId = {};
    var layer = L.geoJSON(data, {
      pane: pane(map, "gs-zones", 450),
      className: "gs-zone",
      style: function (feature) {
        return cfg.styles[feature.properties.s] || cfg.styles.unknown;
      },
      onEachFeature: function (feature, path) {
        var p = feature.properties;
        byId[p.id] = path;
        path.bindTooltip(p.t, { sticky: true, className: "gs-tooltip" });
        if (p.p) {
          bindFittedPopup(map, path, p.p, { maxWidth: 380, minWidth: 260, className: "gs-zone-popup" });
        }
        path.on("mouseover", function () {
          var base = cfg.styles[p.s] || cfg.styles.unknown;
          path.setStyle({ weight: base.weight + 2, fillOpacity: Math.min(1, base.fillOpacity + 0.15) });
        });
        path.on("mouseout", function () {
          if (!path.isPopupOpen()) {
            layer.resetStyle(path);
          }
        });
        path.on("popupclose", function () {
          layer.resetStyle(path);
        });
      }
    });
    layer.gsById = byId;
    return layer;
  };

  /*
   * Zones by viewport (a territory too large to inline): an overview of H3 cells (data) below
   * cfg.minZoom, and from it the zones of the view, asked from cfg.url with the map's bounds
   * (padded, so that small moves and popups opening ask nothing) and drawn as GS.zones draws.
   */
  GS.viewportZones = function (map, data, cfg) {
    var zones = GS.zones(map, { type: "FeatureCollection", features: [] }, cfg);
    var overview = L.geoJSON(data, {
      pane: pane(map, "gs-zones", 450),
      className: "gs-zone-cell",
      style: function (feature) {
        var base = cfg.styles[feature.properties.s] || cfg.styles.unknown;
        return L.extend({}, base, { weight: 1, dashArray: null });
      },
      onEachFeature: function (feature, cell) {
        cell.bindTooltip(feature.properties.t, { sticky: true, className: "gs-tooltip" });
        cell.on("click", function () {
          map.fitBounds(cell.getBounds(), { maxZoom: cfg.minZoom });
        });
      }
    });
    var loaded = null;
    var sequence = 0;
    var pending = null;
    var notice = L.control({ position: "bottomleft" });
    notice.onAdd = function () {
      var box = create("div", "gs-box gs-viewport-notice");
      box.setAttribute("role", "status");
      box.setAttribute("aria-live", "polite");
      return box;
    };
    function say(text) {
      var box = notice.getContainer();
      if (box) {
        box.textContent = text || "";
        box.style.display = text ? "" : "none";
      }
    }
    function clear() {
      zones.clearLayers();
      Object.keys(zones.gsById).forEach(function (id) {
        delete zones.gsById[id];
      });
      loaded = null;
    }
    function query(extra) {
      var params = L.extend({}, cfg.query, extra);
      return cfg.url + "?" + Object.keys(params).map(function (key) {
        return encodeURIComponent(key) + "=" + encodeURIComponent(params[key]);
      }).join("&");
    }
    function refresh() {
      if (!map.hasLayer(zones)) {
        return;
      }
      if (map.getZoom() < cfg.minZoom && !pending) {
        clear();
        say("");
        if (!map.hasLayer(overview)) {
          overview.addTo(map);
        }
        return;
      }
      map.removeLayer(overview);
      var view = map.getBounds();
      if (loaded && !loaded.truncated && loaded.bounds.contains(view)) {
        openPending();
        return;
      }
      var wanted = view.pad(0.5);
      var mine = ++sequence;
      var box = [wanted.getWest(), wanted.getSouth(), wanted.getEast(), wanted.getNorth()];
      say(cfg.loading);
      fetch(query({ bbox: box.map(function (v) { return v.toFixed(5); }).join(",") }), {
        headers: { Accept: "application/geo+json" },
        credentials: "same-origin"
      }).then(function (response) {
        if (!response.ok) {
          throw new Error(String(response.status));
        }
        return response.json();
      }).then(function (collection) {
        if (mine !== sequence) {
          return;
        }
        clear();
        zones.addData(collection);
        var truncated = collection.numberMatched > collection.numberReturned;
        loaded = { bounds: wanted, truncated: truncated };
        say(truncated ? cfg.truncated : "");
        openPending();
      }).catch(function () {
        if (mine === sequence) {
          say(cfg.failed);
        }
      });
    }
    /* The popup of the zone asked for by the search or the URL, once it is drawn. */
    function openPending() {
      if (pending && zones.gsById[pending]) {
        var path = zones.gsById[pending];
        pending = null;
        path.openPopup();
      }
    }
    /* Show zone `id` (fitted to `bounds`) and open its popup once loaded (the map may not
       move, so no moveend is awaited). */
    zones.gsShow = function (id, bounds) {
      pending = id;
      map.fitBounds(bounds, { maxZoom: 15, padding: [40, 40], animate: false });
      if (!map.hasLayer(zones)) {
        map.addLayer(zones);
      } else {
        refresh();
      }
    };
    /* Search the server (name, id or commune): calls back with [{id, label, bounds}]. */
    zones.gsFind = function (params, callback) {
      fetch(query(params), { headers: { Accept: "application/geo+json" } })
        .then(function (response) {
          return response.ok ? response.json() : { features: [] };
        })
        .then(function (collection) {
          callback(collection.features.map(function (feature) {
            var bounds = L.geoJSON(feature).getBounds();
            return { id: feature.properties.id, label: feature.properties.t, bounds: bounds };
          }));
        })
        .catch(function () {
          callback([]);
        });
    };
    zones.on("add", function () {
      notice.addTo(map);
      say("");
      refresh();
    });
    zones.on("remove", function () {
      map.removeLayer(overview);
      notice.remove();
    });
    map.on("moveend", refresh);
    return zones;
  };

  /*
   * Unpack a packed layer (see geo_service.maps.geojson.packed_layer): per feature, polygons
   * of rings of integer steps from the previous vertex. Calls make(index, latlngs, isPoint).
   */
  function unpack(data, make) {
    var scale = data.scale;
    var x = 0;
    var y = 0;
    var layers = [];
    for (var f = 0; f < data.g.length; f++) {
      var polygons = [];
      var points = 0;
      for (var p = 0; p < data.g[f].length; p++) {
        var rings = [];
        for (var r = 0; r < data.g[f][p].length; r++) {
          var flat = data.g[f][p][r];
          var ring = [];
          for (var i = 0; i < flat.length; i += 2) {
            x += flat[i];
            y += flat[i + 1];
            ring.push([y / scale, x / scale]);
          }
          points += ring.length;
          rings.push(ring);
        }
        polygons.push(rings);
      }
      if (points === 1) {
        layers.push(make(f, polygons[0][0][0], true));
      } else if (points > 0) {
        layers.push(make(f, polygons, false));
      }
    }
    return L.featureGroup(layers);
  }

  /* Coverage hexagons (H3): share of locaux at >= 30 Mbit/s, on the canvas. */
  GS.hexes = function (map, data, cfg) {
    var renderer = denseRenderer(map);
    var v = data.p.v;
    var n = data.p.n;
    var b = data.p.b;
    return unpack(data, function (f, latlngs) {
      var hexagon = L.polygon(latlngs, {
        renderer: renderer,
        className: "gs-hexagon",
        fillColor: rampColour(v[f], cfg.breaks, cfg.colours),
        fillOpacity: cfg.opacity,
        color: "#ffffff",
        weight: 0.6,
        opacity: 0.9
      });
      hexagon.bindTooltip(function () {
        return (
          GS.percent(v[f]) + " des " + GS.number(n[f]) + " locaux à ≥\u202f30\u202fMbit/s (" +
          GS.number(b[f]) + (b[f] > 1 ? " bâtiments)" : " bâtiment)")
        );
      }, { sticky: true, className: "gs-tooltip" });
      return hexagon;
    });
  };

  /*
   * Communes filled by their ARCEP share (commune statistics), on the canvas of the dense
   * layers but always drawn first, so plots and hexagons stay on top when both are on.
   */
  GS.communeCoverage = function (map, data, cfg) {
    var renderer = denseRenderer(map);
    var v = data.p.v;
    var t = data.p.t;
    var p = data.p.p;
    var group = unpack(data, function (f, latlngs) {
      var known = v[f] !== null;
      var base = {
        renderer: renderer,
        className: "gs-commune-coverage",
        fillColor: known ? rampColour(v[f], cfg.breaks, cfg.colours) : cfg.missing,
        fillOpacity: known ? cfg.opacity : cfg.missingOpacity,
        color: "#ffffff",
        weight: 0.8,
        opacity: 0.9
      };
      var commune = L.polygon(latlngs, base);
      commune.bindTooltip(t[f], { sticky: true, className: "gs-tooltip" }); /* escaped by the server */
      if (p[f]) {
        bindFittedPopup(map, commune, p[f], {
          maxWidth: 360,
          minWidth: 240,
          className: "gs-commune-popup"
        });
      }
      commune.on("mouseover", function () {
        commune.setStyle({ color: "#1a1a1a", weight: 2 });
      });
      commune.on("mouseout", function () {
        commune.setStyle({ color: base.color, weight: base.weight });
      });
      return commune;
    });
    group.on("add", function () {
      group.eachLayer(function (commune) {
        commune.bringToBack();
      });
    });
    return group;
  };

  /* Land plots: available ones filled, the others (zone map) outlined; point plots as dots. */
  GS.land = function (map, data, cfg) {
    var renderer = denseRenderer(map);
    var d = data.p.d;
    var a = data.p.a;
    var k = data.p.k;
    return unpack(data, function (f, latlngs, isPoint) {
      var options = L.extend({ renderer: renderer }, d[f] ? cfg.available : cfg.unavailable);
      var plot = isPoint
        ? L.circleMarker(latlngs, L.extend({ radius: 4, fill: true }, options))
        : L.polygon(latlngs, options);
      plot.bindTooltip(function () {
        var text = d[f] ? "Parcelle disponible" : "Parcelle non disponible";
        text += " · " + GS.hectares(a[f]);
        if (cfg.sources[k[f]]) {
          text += " · " + cfg.sources[k[f]]; /* escaped by the server */
        }
        return text;
      }, { sticky: true, className: "gs-tooltip" });
      return plot;
    });
  };

  /*
   * Transport facilities as circles: interchanges, stations, hubs, and stops sized by their
   * morning-peak departures (r), pale when those are unknown (u). Tooltips escaped by the server.
   */
  GS.facilities = function (map, data, cfg) {
    var renderer = denseRenderer(map);
    return L.geoJSON(data, {
      pointToLayer: function (feature, latlng) {
        var p = feature.properties;
        var marker = L.circleMarker(latlng, {
          renderer: renderer,
          radius: p.r || cfg.radius,
          color: cfg.stroke,
          weight: 1,
          fillColor: cfg.colour,
          fillOpacity: p.u ? cfg.unknownOpacity : cfg.opacity
        });
        marker.bindTooltip(p.t, { className: "gs-tooltip" });
        return marker;
      }
    });
  };

  /* Commune boundaries (not interactive); the filtered commune is drawn thicker. */
  GS.communes = function (map, data, cfg) {
    return L.geoJSON(data, {
      pane: pane(map, "gs-communes", 420),
      className: "gs-commune",
      interactive: false,
      style: function (feature) {
        return feature.properties.h ? cfg.highlight : cfg.style;
      }
    });
  };

  /* The coverage raster as one image (already in Web Mercator, classified, transparent nodata). */
  GS.raster = function (map, data, cfg) {
    return L.imageOverlay(data.url, data.bounds, {
      pane: pane(map, "gs-raster", 300),
      opacity: cfg.opacity,
      className: "gs-raster",
      alt: cfg.alt,
      interactive: false
    });
  };

  /* Premises coloured by ARCEP class, clustered (cluster colour: share of locaux >= THD30). */
  GS.premises = function (map, data, cfg) {
    var icons = cfg.classes.map(function (cls) {
      return L.divIcon({
        className: "gs-premise",
        html: '<span style="background:' + cls.colour + '"></span>',
        iconSize: [12, 12],
        iconAnchor: [6, 6]
      });
    });
    var group = L.markerClusterGroup({
      maxClusterRadius: 36,
      disableClusteringAtZoom: 17,
      showCoverageOnHover: false,
      chunkedLoading: true,
      iconCreateFunction: function (cluster) {
        var markers = cluster.getAllChildMarkers();
        var total = 0;
        var good = 0;
        for (var i = 0; i < markers.length; i++) {
          total += markers[i].options.gsLocaux;
          if (markers[i].options.gsClass >= cfg.thd30) {
            good += markers[i].options.gsLocaux;
          }
        }
        var share = total > 0 ? good / total : 0;
        var colour = rampColour(share, cfg.breaks, cfg.colours);
        var dark = share < cfg.breaks[Math.min(2, cfg.breaks.length - 1)];
        return L.divIcon({
          className: "gs-cluster",
          html:
            '<span style="background:' + colour + ";color:" + (dark ? "#ffffff" : "#1a1a1a") +
            '">' + GS.number(cluster.getChildCount()) + "</span>",
          iconSize: [36, 36]
        });
      }
    });
    var markers = [];
    for (var i = 0; i < data.lat.length; i++) {
      var cls = cfg.classes[data.c[i]];
      var marker = L.marker([data.lat[i], data.lon[i]], {
        icon: icons[data.c[i]],
        keyboard: false,
        gsClass: cls.rank,
        gsLocaux: data.n[i]
      });
      marker.bindTooltip(cls.code + " · " + GS.number(data.n[i]) + (data.n[i] > 1 ? " locaux" : " local"), {
        className: "gs-tooltip"
      });
      markers.push(marker);
    }
    group.addLayers(markers);
    return group;
  };

  /* Legend: one section per layer, hidden while its layer is off. */
  GS.legend = function (map, cfg, refs) {
    var control = L.control({ position: cfg.position || "bottomright" });
    control.onAdd = function () {
      var box = create("div", "gs-legend gs-box");
      box.setAttribute("role", "region");
      box.setAttribute("aria-label", cfg.title);
      quiet(box);
      foldButton(box, cfg.title, cfg.collapsed || NARROW);
      var body = create("div", "gs-legend-body", box);
      cfg.sections.forEach(function (section) {
        var node = create("section", "gs-legend-section", body);
        create("h4", "", node, section.title);
        section.entries.forEach(function (entry) {
          var row = create("div", "gs-legend-row", node);
          var swatch = create("span", "gs-swatch" + (entry.round ? " gs-round" : ""), row);
          /* the colour seen on the map (blended by the server), or an outline only */
          swatch.style.backgroundColor = entry.fill || "transparent";
          swatch.style.border =
            (entry.thick ? "3px " : "1px ") + (entry.dashed ? "dashed " : "solid ") + entry.stroke;
          create("span", "gs-legend-label", row, entry.label);
        });
        if (section.note) {
          create("p", "gs-legend-note", node, section.note);
        }
        var layer = section.layer ? refs[section.layer] : null;
        if (layer) {
          var sync = function () {
            node.style.display = map.hasLayer(layer) ? "" : "none";
          };
          map.on("overlayadd overlayremove", sync);
          sync();
        }
      });
      return box;
    };
    control.addTo(map);
    return control;
  };

  function focusZone(map, zones, path) {
    if (!map.hasLayer(zones)) {
      map.addLayer(zones);
    }
    /* no animation: the popup then pans into view from the final view, clear of the header */
    map.fitBounds(path.getBounds(), { maxZoom: 15, padding: [40, 40], animate: false });
    path.openPopup();
  }

  /* Search a zone by name, id or commune; opens its popup. */
  GS.search = function (map, cfg, refs) {
    var zones = refs.zones;
    var index = [];
    zones.eachLayer(function (path) {
      var p = path.feature.properties;
      index.push({ path: path, key: p.q, label: p.t });
    });
    var remote = zones.gsFind;
    var asked = 0;
    var control = L.control({ position: "topleft" });
    control.onAdd = function () {
      var box = create("div", "gs-search gs-box");
      quiet(box);
      var input = create("input", "gs-search-input", box);
      input.type = "search";
      input.placeholder = cfg.placeholder;
      input.setAttribute("aria-label", cfg.placeholder);
      input.autocomplete = "off";
      var list = create("ul", "gs-search-results", box);
      list.setAttribute("role", "listbox");
      var matches = [];
      function choose(entry) {
        list.innerHTML = "";
        input.value = "";
        input.blur();
        if (entry.path) {
          focusZone(map, zones, entry.path);
        } else {
          zones.gsShow(entry.id, entry.bounds);
        }
      }
      function update() {
        var query = GS.normalize(input.value);
        list.innerHTML = "";
        matches = [];
        if (query.length < 2) {
          return;
        }
        if (remote) {
          var mine = ++asked;
          remote({ q: input.value, limit: 8 }, function (found) {
            if (mine === asked) {
              show(found);
            }
          });
          return;
        }
        for (var i = 0; i < index.length && matches.length < 8; i++) {
          if (index[i].key.indexOf(query) >= 0) {
            matches.push(index[i]);
          }
        }
        show(matches);
      }
      function show(found) {
        list.innerHTML = "";
        matches = found;
        if (!matches.length) {
          create("li", "gs-search-empty", list, cfg.empty);
          return;
        }
        matches.forEach(function (entry) {
          var item = create("li", "", list);
          var button = create("button", "gs-search-result", item);
          button.type = "button";
          button.innerHTML = entry.label; /* escaped by the server */
          L.DomEvent.on(button, "click", function () {
            choose(entry);
          });
        });
      }
      L.DomEvent.on(input, "input", update);
      L.DomEvent.on(input, "keydown", function (event) {
        if (event.key === "Enter" && matches.length) {
          L.DomEvent.preventDefault(event);
          choose(matches[0]);
        } else if (event.key === "Escape") {
          input.value = "";
          update();
        }
      });
      return box;
    };
    control.addTo(map);
    var wanted = /^#zone=(.+)$/.exec(window.location.hash || "");
    if (wanted && remote) {
      remote({ id: decodeURIComponent(wanted[1]), limit: 1 }, function (found) {
        if (found.length) {
          zones.gsShow(found[0].id, found[0].bounds);
        }
      });
    } else if (wanted) {
      var path = zones.gsById[decodeURIComponent(wanted[1])];
      if (path) {
        /* after the page script has set the initial view (it would move the map from under
           the open popup, leaving it under the header) */
        window.setTimeout(function () {
          if (map._animatingZoom) {
            map.once("zoomend", function () {
              focusZone(map, zones, path);
            });
          } else {
            focusZone(map, zones, path);
          }
        }, 0);
      }
    }
    return control;
  };

  var FULLSCREEN_ICON =
    '<svg viewBox="0 0 16 16" width="16" height="16" aria-hidden="true">' +
    '<path d="M1 6V1h5M10 1h5v5M15 10v5h-5M6 15H1v-5" fill="none" stroke="currentColor" ' +
    'stroke-width="2"/></svg>';

  /* Fullscreen button: the Fullscreen API, or the whole window when it is not allowed. */
  GS.fullscreen = function (map, cfg) {
    var container = map.getContainer();
    var control = L.control({ position: "topleft" });
    function refresh() {
      window.setTimeout(function () {
        map.invalidateSize();
      }, 50);
    }
    function toggle() {
      if (document.fullscreenElement) {
        document.exitFullscreen();
      } else if (L.DomUtil.hasClass(container, "gs-pseudo-fullscreen")) {
        L.DomUtil.removeClass(container, "gs-pseudo-fullscreen");
        refresh();
      } else if (document.fullscreenEnabled && container.requestFullscreen) {
        container.requestFullscreen().catch(function () {
          L.DomUtil.addClass(container, "gs-pseudo-fullscreen");
          refresh();
        });
      } else {
        L.DomUtil.addClass(container, "gs-pseudo-fullscreen");
        refresh();
      }
    }
    control.onAdd = function () {
      var bar = create("div", "leaflet-bar gs-fullscreen");
      var button = create("a", "gs-fullscreen-button", bar);
      button.innerHTML = FULLSCREEN_ICON;
      button.href = "#";
      button.title = cfg.title;
      button.setAttribute("role", "button");
      button.setAttribute("aria-label", cfg.title);
      L.DomEvent.on(button, "click", function (event) {
        L.DomEvent.preventDefault(event);
        toggle();
      });
      return bar;
    };
    document.addEventListener("fullscreenchange", refresh);
    control.addTo(map);
    return control;
  };

  /* Sources and dates (collapsible), the attribution line, and the demo-data notice. */
  GS.sources = function (map, cfg) {
    if (map.attributionControl) {
      map.attributionControl.setPrefix("Leaflet");
      cfg.attributions.forEach(function (text) {
        map.attributionControl.addAttribution(text); /* escaped by the server */
      });
    }
    if (cfg.notice) {
      var notice = create("div", "gs-notice", map.getContainer(), cfg.notice);
      notice.setAttribute("role", "note");
    }
    if (cfg.empty) {
      create("div", "gs-empty", map.getContainer(), cfg.empty);
    }
    var control = L.control({ position: "bottomleft" });
    control.onAdd = function () {
      var box = create("details", "gs-sources gs-box");
      quiet(box);
      create("summary", "", box, cfg.title);
      var list = create("ul", "", box);
      cfg.items.forEach(function (item) {
        create("li", "", list).innerHTML = item; /* escaped by the server */
      });
      return box;
    };
    control.addTo(map);
    L.control.scale({ imperial: false, position: "bottomleft" }).addTo(map);
    return control;
  };

  /* A collapsible panel with server-built (escaped) HTML, e.g. the zone's figures. */
  GS.panel = function (map, cfg) {
    var control = L.control({ position: cfg.position || "topleft" });
    control.onAdd = function () {
      var box = create("div", "gs-panel gs-box");
      quiet(box);
      foldButton(box, cfg.title, false);
      var body = create("div", "gs-panel-body", box);
      body.innerHTML = cfg.html; /* escaped by the server */
      return box;
    };
    control.addTo(map);
    return control;
  };

  /* The page around the map: the iframe snippet of the current view and its copy button. */
  GS.page = function (cfg) {
    var field = document.getElementById("gs-embed-code");
    if (!field) {
      return;
    }
    var params = new window.URLSearchParams(window.location.search);
    params.set("embed", "1");
    var url = window.location.origin + window.location.pathname + "?" + params.toString();
    field.value =
      '<iframe src="' + GS.escape(url) + '" title="' + cfg.title /* escaped by the server */ +
      '" width="100%" height="600" style="border:0" loading="lazy" allowfullscreen></iframe>';
    var button = document.getElementById("gs-embed-copy");
    if (button) {
      button.addEventListener("click", function () {
        field.select();
        var done = function () {
          button.textContent = cfg.copied;
        };
        if (window.navigator.clipboard && window.isSecureContext) {
          window.navigator.clipboard.writeText(field.value).then(done, function () {});
        } else if (document.execCommand && document.execCommand("copy")) {
          done();
        }
      });
    }
  };

  window.GeoServiceMap = GS;
})(window);
