/* Pages without a live stream (a closed session) only need their theme colours painted. */
import { paintColors } from "./dom.js";

paintColors(document);
