"""Whether a point can lie in Azerbaijan: a box around the country, Nakhchivan included.

Used to refuse a shared location that cannot be an object here: (0, 0), which some phones send
without a position fix, a phone abroad, latitude and longitude swapped.

The box runs from the extreme points, with about 2 km for GPS error: 38°24′ N (Astarachay, the
south) to 41°54′ N (Mount Guton, Qusar, the north); 44°46′ E (Sədərək, Nakhchivan, the west) to
50°51′ E (Çilov island and Neft Daşları in the Caspian, the east). Sources: azerbaijans.com,
"National territories"; Heydar Aliyev Foundation, "Azerbaijan" (38°25′–41°55′ N, 44°50′–50°51′
E). A box is not the border: near it, it also holds parts of Georgia, Armenia, Iran and Russia
(Tbilisi is inside). Refusing those needs the border's polygon, which we do not have.
"""

from __future__ import annotations

import math
from typing import Final

SOUTH: Final = 38.38
NORTH: Final = 41.93
WEST: Final = 44.75
EAST: Final = 50.87


def in_azerbaijan(latitude: float, longitude: float) -> bool:
    """True if (latitude, longitude) lies in the box around Azerbaijan (see the module)."""
    if not (math.isfinite(latitude) and math.isfinite(longitude)):
        return False
    return SOUTH <= latitude <= NORTH and WEST <= longitude <= EAST
