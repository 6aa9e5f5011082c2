// The responder view at /responder (skeleton).
import { Api } from "../shared/api.js";

export const api = new Api();
