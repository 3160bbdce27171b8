/* The section mastery grid as one Tab stop, with the arrow keys between its cells: the "roving tabindex" of the
   WAI-ARIA grid pattern, as progressive enhancement. Every cell of the grid is a link, and a full grade is
   35 students × 200 competencies: 7,000 Tab stops that a keyboard user could not get past.

   The grid's cells here are the links of the table's body rows: each row's student name (its row header, the
   first cell) and its competency cells. One of them is in the Tab order (tabindex 0): the last one focused, at
   first the first cell of the first row; the others are out of it (tabindex -1). Arrows move cell to cell,
   Home/End to the ends of the row, Ctrl+Home/Ctrl+End to the ends of the grid, PageUp/PageDown a few rows;
   Enter follows the link as before. Without this script every link stays in the Tab order.

   Only a table marked data-grid-keys takes part: the ratings mode leaves it unmarked, since there the cells are
   out of the Tab order already and the rating boxes take it. htmx swaps the grid's body in after the ratings
   mode opens or ratings are saved; the new table is set up on htmx:load. */
(function () {
  "use strict";

  var PAGE_ROWS = 5; // what PageUp/PageDown move by
  var ready = new WeakSet(); // tables set up: the page's first htmx:load (on body) must not set them up again

  // The grid cell link an element is, or null: a link that is a cell of a body row of the table.
  function gridLink(table, element) {
    var cell = element.tagName === "A" ? element.parentElement : null;
    var row = cell && cell.parentElement;
    return row && row.parentElement === table.tBodies[0] ? element : null;
  }

  function linkAt(rows, rowIndex, cellIndex) {
    var cells = rows[rowIndex].cells;
    var cell = cells[Math.min(cellIndex, cells.length - 1)];
    return cell.querySelector("a");
  }

  function clamp(value, last) {
    return Math.max(0, Math.min(value, last));
  }

  // Where a key moves from a cell: [row, cell] in the body rows, or null for a key the grid leaves alone.
  function destination(event, rowIndex, cellIndex, rows) {
    var last = rows.length - 1;
    var end = rows[rowIndex].cells.length - 1;
    if (event.altKey || event.metaKey || event.shiftKey) {
      return null;
    }
    if (event.ctrlKey) {
      // Ctrl+Home/Ctrl+End only: the browser's other Ctrl keys stay its own.
      if (event.key === "Home") return [0, 0];
      if (event.key === "End") return [last, rows[last].cells.length - 1];
      return null;
    }
    switch (event.key) {
      case "ArrowLeft": return [rowIndex, clamp(cellIndex - 1, end)];
      case "ArrowRight": return [rowIndex, clamp(cellIndex + 1, end)];
      case "ArrowUp": return [clamp(rowIndex - 1, last), cellIndex];
      case "ArrowDown": return [clamp(rowIndex + 1, last), cellIndex];
      case "PageUp": return [clamp(rowIndex - PAGE_ROWS, last), cellIndex];
      case "PageDown": return [clamp(rowIndex + PAGE_ROWS, last), cellIndex];
      case "Home": return [rowIndex, 0];
      case "End": return [rowIndex, end];
      default: return null;
    }
  }

  // The student names stay in place (position: sticky) while the cells scroll under them; focus() scrolls a
  // cell into the grid's view but not out from under its row's name, so that is done here.
  function uncover(link) {
    var cell = link.parentElement;
    var name = cell.parentElement.cells[0];
    var wrap = cell.closest(".grid-wrap");
    if (cell === name || !wrap) {
      return;
    }
    var covered = name.getBoundingClientRect().right - cell.getBoundingClientRect().left;
    if (covered > 0) {
      wrap.scrollLeft -= Math.ceil(covered); // whole pixels: scrollLeft rounds a fraction away
    }
  }

  function setUp(table) {
    var body = table.tBodies[0];
    if (ready.has(table) || !body || !body.rows.length) {
      return;
    }
    ready.add(table);
    // The cell htmx has just focused (autofocus: the cell that changed), else the first cell of the first row.
    var current = gridLink(table, document.activeElement) || body.rows[0].cells[0].querySelector("a");
    var links = body.getElementsByTagName("a");
    // One pass over the links (7,000 in a full grade): only the current one stays in the Tab order.
    for (var index = 0; index < links.length; index += 1) {
      links[index].tabIndex = links[index] === current ? 0 : -1;
    }

    // Focus by any means (keys, a click, htmx's autofocus) makes that cell the grid's Tab stop: only the
    // previous and the new cell change.
    table.addEventListener("focusin", function (event) {
      var link = gridLink(table, event.target);
      if (link && link !== current) {
        current.tabIndex = -1;
        link.tabIndex = 0;
        current = link;
      }
    });

    table.addEventListener("keydown", function (event) {
      var link = gridLink(table, event.target);
      var cell = link && link.parentElement;
      var to = cell && destination(event, cell.parentElement.sectionRowIndex, cell.cellIndex, body.rows);
      if (!to) {
        return;
      }
      event.preventDefault(); // the arrows and Page keys would scroll the page too
      var next = linkAt(body.rows, to[0], to[1]);
      if (next && next !== link) {
        next.focus();
        uncover(next);
      }
    });

    // Said only when it is true: without this script Tab goes from cell to cell.
    var help = document.getElementById(table.dataset.gridKeys);
    if (help) {
      help.hidden = false;
      table.setAttribute("aria-describedby", help.id);
    }
  }

  function setUpWithin(root) {
    if (root.matches && root.matches("table[data-grid-keys]")) {
      setUp(root);
    }
    var tables = root.querySelectorAll ? root.querySelectorAll("table[data-grid-keys]") : [];
    for (var index = 0; index < tables.length; index += 1) {
      setUp(tables[index]);
    }
  }

  setUpWithin(document);
  document.addEventListener("htmx:load", function (event) {
    setUpWithin(event.target);
  });
})();
